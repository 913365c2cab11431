"""The CATE learners (S, T, X, R, DR, causal forest), calibration and model selection."""

from __future__ import annotations

import json
from statistics import NormalDist
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa

from . import _cateye, _progress
from ._data import cluster_codes, covariate_table, vector
from ._forest import _Estimator, _training_table


class CateLearner(_Estimator):
    """A debiased CATE learner, as ``cateye cate`` runs it.

    Parameters
    ----------
    method : {"s", "t", "x", "r", "dr", "causal_forest"}, default "dr"
        The learner (Künzel et al. 2019; Nie & Wager 2021; Kennedy 2023).
    base : str or list of str, default "forest"
        Base learners of the nuisances and the final stage (``forest``, ``linear``, ``boost``).
    calibrate : bool, default False
        Causal isotonic cross-calibration of the estimates (van der Laan et al. 2023).
    intervals : bool, default False
        Per-unit intervals for the R- and DR-learners on the forest base (see
        :meth:`effect_interval`): their final-stage forests grow `interval_trees` trees
        (default 2000) in little bags of two.
    interval_trees : int, optional
    final_min_node_size : int, optional
        Minimum node size of the forest base in final stages (default 5, grf's); larger leaves
        give smoother estimates (better where the effect is smooth, worse at its kinks).
    folds : int, optional
        Cross-fitting folds (default 5).
    trees : int, optional
        Trees of every forest (default: the library's).
    propensity : str, default "design"
        ``design`` (the treated share: randomized experiments), ``estimate``, or a number.
    seed : int, optional
    select, loss
        Run every learner with every base and report the best by `loss` (see :func:`select_cate`).
    threads, progress
        As for :class:`CausalForest`.
    """

    _params = ("method", "base", "calibrate", "intervals", "interval_trees", "final_min_node_size", "folds", "trees",
               "propensity", "clip", "seed", "select", "loss", "threads", "progress")

    def __init__(
        self,
        method: str = "dr",
        base: Union[str, Sequence[str], None] = "forest",
        calibrate: bool = False,
        intervals: bool = False,
        interval_trees: Optional[int] = None,
        final_min_node_size: Optional[int] = None,
        folds: Optional[int] = None,
        trees: Optional[int] = None,
        propensity: str = "design",
        clip: Optional[float] = None,
        seed: Optional[int] = None,
        select: bool = False,
        loss: Optional[str] = None,
        threads: Optional[int] = None,
        progress: Any = None,
    ) -> None:
        self.method = method
        self.base = base
        self.calibrate = calibrate
        self.intervals = intervals
        self.interval_trees = interval_trees
        self.final_min_node_size = final_min_node_size
        self.folds = folds
        self.trees = trees
        self.propensity = propensity
        self.clip = clip
        self.seed = seed
        self.select = select
        self.loss = loss
        self.threads = threads
        self.progress = progress
        self._model = None

    def fit(self, X: Any, y: Any, w: Any, *, sample_weight: Any = None, clusters: Any = None) -> "CateLearner":
        """Fits the learner to covariates `X`, outcomes `y` and treatments `w` (0/1, or arm
        codes with the smallest as control). `sample_weight` weights every fit and the AIPW
        effect; `clusters` labels clusters: cross-fitting keeps each in one fold and the AIPW
        standard error becomes cluster-robust."""
        covariates_table = covariate_table(X)
        rows = covariates_table.num_rows
        columns = {"y": vector(y, "y", rows), "w": vector(w, "w", rows)}
        if sample_weight is not None:
            columns["sample_weight"] = vector(sample_weight, "sample_weight", rows)
        if clusters is not None:
            columns["clusters"] = cluster_codes(clusters, rows)
        table, covariates, names = _training_table(covariates_table, columns)
        bases = [self.base] if isinstance(self.base, str) else self.base
        spec = {
            "outcome": names["y"], "treatment": names["w"], "covariates": covariates, "propensity": str(self.propensity),
            "method": self.method, "bases": bases, "calibrate": self.calibrate, "intervals": self.intervals,
            "interval_trees": self.interval_trees, "final_min_node_size": self.final_min_node_size, "folds": self.folds,
            "trees": self.trees, "clip": self.clip, "seed": self.seed, "select": self.select, "loss": self.loss,
        }
        for role, arg in (("weights", "sample_weight"), ("cluster", "clusters")):
            if arg in names:
                spec[role] = names[arg]
        with _progress.shown(self.progress) as bar:
            summary, units, model = _cateye.fit_cate(table, json.dumps(spec), "training data", bar, self.threads)
        self._model = model
        self.summary_: Dict[str, Any] = json.loads(summary)
        self.units_: pa.Table = pa.table(units)
        self.covariates_ = list(model.covariates)
        return self

    def effect(self, X: Any = None) -> np.ndarray:
        """CATE estimates of the rows of `X` (None: the training rows, out of fold); with
        several arms, one column per arm."""
        self._fitted()
        if X is None:
            table = self.units_.select([c for c in self.units_.column_names if c.startswith("cate")])
        else:
            names = self.covariates_ if isinstance(X, np.ndarray) else None
            table = pa.table(self._model.predict(covariate_table(X, names), "X", self.threads))
        columns = [table.column(c).to_numpy() for c in table.column_names]
        return columns[0] if len(columns) == 1 else np.column_stack(columns)

    def effect_interval(self, X: Any = None, alpha: float = 0.05):
        """Per-unit ``(lower, upper)`` bounds of (1 - alpha) intervals of the training rows'
        estimates, for the learners that report them: the R- and DR-learners on the forest base
        fitted with ``intervals=True`` (the honest final-stage forest's bootstrap of little bags)
        and the causal forest (``method="forest"``, also with ``intervals=True``). Other
        learners raise NotImplementedError saying why; so do new rows (not computed yet)."""
        self._fitted()
        if X is not None:
            raise NotImplementedError("intervals are computed for the training rows (X=None) only")
        names = [c for c in self.units_.column_names if c == "se" or c.startswith("se_")]
        if not names:
            raise NotImplementedError(f"the {self.method} learner reports no per-unit intervals: "
                                      f"{self.summary_['arms'][0]['intervals']}")
        arms = [c for c in self.units_.column_names if c == "cate" or c.startswith("cate_")]
        if len(names) != len(arms):
            raise NotImplementedError("some arms have no per-unit intervals: "
                                      + "; ".join(f"arm {a['arm']}: {a['intervals']}" for a in self.summary_["arms"]))
        z = NormalDist().inv_cdf(1 - alpha / 2)
        cate = self.effect()
        columns = [self.units_.column(c).to_numpy() for c in names]
        se = columns[0] if len(columns) == 1 else np.column_stack(columns)
        return cate - z * se, cate + z * se

    def ate(self) -> Dict[str, float]:
        """The AIPW average effect of each arm against control, with its standard error."""
        self._fitted()
        arms = self.summary_["arms"]
        if len(arms) == 1:
            return {"ate": arms[0]["ate"], "se": arms[0]["ate_se"]}
        return {str(a["arm"]): {"ate": a["ate"], "se": a["ate_se"]} for a in arms}

    def selection(self) -> pa.Table:
        """The selection table: every candidate learner with its loss (with ``select=True``)."""
        self._fitted()
        rows = [dict(r, arm=a["arm"]) for a in self.summary_["arms"] for r in a["selection"]]
        return pa.Table.from_pylist(rows)


def select_cate(X: Any, y: Any, w: Any, **options: Any) -> Tuple[Any, CateLearner]:
    """Runs every learner with every base learner, ranks them on held-out scores (the selection
    table), and returns ``(table, learner)``: the table as a pandas DataFrame (a pyarrow Table
    when pandas is absent) and the chosen learner, fitted."""
    learner = CateLearner(select=True, base=options.pop("base", None), **options).fit(X, y, w)
    table = learner.selection()
    try:
        return table.to_pandas(), learner
    except ImportError:
        return table, learner
