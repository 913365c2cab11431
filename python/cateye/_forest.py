"""The honest causal forest (grf's ``causal_forest``), with EconML's method names beside grf's."""

from __future__ import annotations

import json
from statistics import NormalDist
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import pyarrow as pa

from . import _cateye, _progress
from ._data import cluster_codes, covariate_table, vector

_PARAMS = (
    "num_trees", "sample_fraction", "mtry", "min_node_size", "honesty", "honesty_fraction",
    "honesty_prune_leaves", "alpha", "imbalance_penalty", "ci_group_size", "max_bins", "seed",
)


def _z(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise _cateye.CateyeError(f"alpha: expected a level between 0 and 1, got {alpha}")
    return NormalDist().inv_cdf(1.0 - alpha / 2.0)


class _Estimator:
    """get_params / set_params as scikit-learn has them."""

    _params: Tuple[str, ...] = ()

    _model: Any = None

    def _fitted(self) -> None:
        if self._model is None:
            raise _cateye.CateyeError(f"this {type(self).__name__} is not fitted yet: call fit first")

    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's parameters and their values."""
        return {name: getattr(self, name) for name in self._params}

    def set_params(self, **params: Any) -> "_Estimator":
        """Sets constructor parameters; the model must be fitted again."""
        for name, value in params.items():
            if name not in self._params:
                raise _cateye.CateyeError(f"unknown parameter '{name}' (known: {', '.join(self._params)})")
            setattr(self, name, value)
        return self

    def _report_json(self) -> str:
        self._fitted()
        return json.dumps(self.summary_)

    def report(self, path: Any = None) -> Any:
        """The HTML report of the fit (as ``cateye forest|cate --report`` writes it): with
        ``path``, written there (the path is returned); without, a :class:`cateye.Report`, which
        a notebook shows."""
        from ._report import report

        return report(self, path)

    def save(self, path: str) -> None:
        """Writes the model file that ``cateye predict`` reads."""
        self._fitted()
        with open(path, "wb") as f:
            f.write(self._model.to_bytes())

    # Pickling goes through the model file format: the native model as its file's bytes, the
    # rest of the fitted state as it is.
    def __getstate__(self) -> Dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_model", "progress")}
        state["_model"] = None if self._model is None else self._model.to_bytes()
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        model = state.pop("_model")
        self.__dict__.update(state)
        self.progress = None
        self._model = None if model is None else _cateye.Model.from_bytes(model)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _free(name: str, taken: Sequence[str]) -> str:
    """`name`, or `_name`, `__name`, ... if a covariate already has it: the column that carries an
    argument (y, w, ...) into the engine, named as the argument so that errors name it."""
    while name in taken:
        name = "_" + name
    return name


def _training_table(table: pa.Table, columns: Dict[str, Any]) -> Tuple[pa.Table, list, Dict[str, str]]:
    """The covariate `table` with the argument `columns` (name → one value per row) appended under
    free names; returns the table, the covariates and the column name of each argument."""
    covariates = list(table.column_names)
    names = {}
    for name, values in columns.items():
        names[name] = _free(name, covariates)
        table = table.append_column(names[name], pa.array(values))
    return table, covariates, names


class CausalForest(_Estimator):
    """An honest causal forest: per-unit treatment effects with confidence intervals.

    Generalized random forests (Athey, Tibshirani & Wager 2019) as R's ``grf::causal_forest``
    fits them, with grf's defaults; the fit and its analyses give the same numbers as
    ``cateye forest`` with the same settings and seed.

    Parameters
    ----------
    num_trees : int, default 2000
    sample_fraction : float, default 0.5
        Share of the units (or clusters) drawn for each tree.
    mtry : int or None
        Covariates tried per split (None: grf's ``min(ceil(sqrt(p) + 20), p)``).
    min_node_size : int, default 5
    honesty : bool, default True
        Split on one half of a tree's sample, estimate on the other.
    honesty_fraction : float, default 0.5
    honesty_prune_leaves : bool, default True
    alpha : float, default 0.05
        Smallest share of a parent's units in a child (split balance).
    imbalance_penalty : float, default 0.0
    ci_group_size : int, default 2
        Trees per little bag of the variance estimate.
    max_bins : int, default 256
        Quantile bins per covariate for the split search.
    seed : int, default 42
    threads : int or None
        Worker threads (default: all cores); results do not depend on it.
    progress : None, bool or callable
        None: a progress bar in an interactive terminal or notebook only.
    """

    _params = _PARAMS + ("threads", "progress")

    def __init__(
        self,
        num_trees: int = 2000,
        sample_fraction: float = 0.5,
        mtry: Optional[int] = None,
        min_node_size: int = 5,
        honesty: bool = True,
        honesty_fraction: float = 0.5,
        honesty_prune_leaves: bool = True,
        alpha: float = 0.05,
        imbalance_penalty: float = 0.0,
        ci_group_size: int = 2,
        max_bins: int = 256,
        seed: int = 42,
        threads: Optional[int] = None,
        progress: Any = None,
    ) -> None:
        self.num_trees = num_trees
        self.sample_fraction = sample_fraction
        self.mtry = mtry
        self.min_node_size = min_node_size
        self.honesty = honesty
        self.honesty_fraction = honesty_fraction
        self.honesty_prune_leaves = honesty_prune_leaves
        self.alpha = alpha
        self.imbalance_penalty = imbalance_penalty
        self.ci_group_size = ci_group_size
        self.max_bins = max_bins
        self.seed = seed
        self.threads = threads
        self.progress = progress
        self._model = None

    # -- fitting -----------------------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any,
        w: Any,
        *,
        sample_weight: Any = None,
        clusters: Any = None,
        w_hat: Any = None,
        y_hat: Any = None,
    ) -> "CausalForest":
        """Fits the forest to covariates `X` (2-D array, DataFrame or table), outcomes `y` and
        0/1 treatments `w`.

        `w_hat` (propensities) and `y_hat` (outcome means) replace the nuisance forests, as
        grf's ``W.hat`` and ``Y.hat``; `sample_weight` weights units; `clusters` labels
        sampling clusters (trees draw whole clusters; standard errors become cluster-robust).
        """
        covariates_table = covariate_table(X)
        rows = covariates_table.num_rows
        y, w = vector(y, "y", rows), vector(w, "w", rows)
        columns: Dict[str, Any] = {"y": y, "w": w}
        weights = codes = None
        if w_hat is not None:
            columns["w_hat"] = vector(w_hat, "w_hat", rows)
        if y_hat is not None:
            columns["y_hat"] = vector(y_hat, "y_hat", rows)
        if sample_weight is not None:
            columns["sample_weight"] = weights = vector(sample_weight, "sample_weight", rows)
        if clusters is not None:
            columns["clusters"] = codes = cluster_codes(clusters, rows)
        table, covariates, names = _training_table(covariates_table, columns)
        roles = {"outcome": "y", "treatment": "w", "propensity": "w_hat", "y_hat": "y_hat",
                 "weights": "sample_weight", "cluster": "clusters"}
        spec: Dict[str, Any] = {role: names[arg] for role, arg in roles.items() if arg in names}
        spec["covariates"] = covariates
        spec["options"] = {name: getattr(self, name) for name in _PARAMS}
        with _progress.shown(self.progress) as bar:
            summary, units, model = _cateye.fit_forest(table, json.dumps(spec), "training data", bar, self.threads)
        self._set_fit(model, json.loads(summary), pa.table(units), y, w, weights, codes)
        self._X = table.select(covariates)
        return self

    def _set_fit(self, model, summary, units, y, w, weights, codes) -> None:
        self._model = model
        self.summary_: Dict[str, Any] = summary
        self.covariates_ = list(model.covariates)
        self._units = units
        columns = {
            "y": y, "w": w,
            "y_hat": units.column("y_hat").to_numpy(), "w_hat": units.column("w_hat").to_numpy(),
            "tau": units.column("cate").to_numpy(),
        }
        if weights is not None:
            columns["weights"] = weights
        if codes is not None:
            columns["cluster"] = codes
        self._fit = pa.table(columns)

    # -- predictions ---------------------------------------------------------------------------

    def _predict_table(self, X: Any) -> pa.Table:
        self._fitted()
        table = covariate_table(X, self.covariates_ if isinstance(X, np.ndarray) else None)
        return pa.table(self._model.predict(table, "X", self.threads))

    def predict(self, X: Any = None, estimate_variance: bool = False) -> Union[np.ndarray, Tuple[np.ndarray, np.ndarray]]:
        """CATE estimates of the rows of `X` (None: the training rows, out of bag), and their
        variances when `estimate_variance` is set (``(cate, variance)``)."""
        self._fitted()
        table = self._units if X is None else self._predict_table(X)
        cate = table.column("cate").to_numpy()
        if not estimate_variance:
            return cate
        return cate, table.column("se").to_numpy() ** 2

    def effect(self, X: Any = None) -> np.ndarray:
        """CATE estimates of the rows of `X` (EconML's name for :meth:`predict`)."""
        return self.predict(X)

    def effect_interval(self, X: Any = None, alpha: float = 0.05) -> Tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of the (1 − alpha) confidence interval of each row's CATE."""
        self._fitted()
        table = self._units if X is None else self._predict_table(X)
        if alpha == 0.05:  # the engine's own 95% bounds, bit for bit those of `cateye predict`
            return table.column("ci_lower").to_numpy(), table.column("ci_upper").to_numpy()
        cate, se = table.column("cate").to_numpy(), table.column("se").to_numpy()
        half = _z(alpha) * se
        return cate - half, cate + half

    # -- analyses (grf's) ----------------------------------------------------------------------

    def average_treatment_effect(self, target_sample: str = "all") -> Dict[str, Any]:
        """The AIPW average effect on ``all``, ``treated``, ``control`` or ``overlap`` units,
        with its standard error (grf's ``average_treatment_effect``)."""
        self._fitted()
        return json.loads(_cateye.average_treatment_effect(self._fit, target_sample))

    def test_calibration(self) -> Dict[str, Any]:
        """grf's omnibus calibration test: mean forest prediction and differential forest
        prediction coefficients with one-sided p-values."""
        self._fitted()
        return json.loads(_cateye.test_calibration(self._fit))

    def rank_average_treatment_effect(
        self, priorities: Any, *, bootstrap: int = 200, seed: Optional[int] = None
    ) -> Dict[str, Any]:
        """RATE (AUTOC and Qini) of prioritising units by `priorities` (one value per training
        row; higher first), with half-sample bootstrap standard errors and the TOC curve.

        With the forest's own out-of-bag CATE as priorities the estimate is optimistic: use
        priorities fitted on other data for a formal test.
        """
        self._fitted()
        p = vector(priorities, "priorities", self._fit.num_rows)
        seed = self.seed if seed is None else seed
        return json.loads(_cateye.rank_average_treatment_effect(self._fit, pa.table({"priority": p}), bootstrap, seed))

    def best_linear_projection(self, A: Any = None) -> Dict[str, Dict[str, float]]:
        """The best linear projection of the effect on the columns of `A` (None: the
        covariates), with an intercept and robust standard errors, keyed by term."""
        self._fitted()
        table = self._X if A is None else covariate_table(A)
        if table.num_rows != self._fit.num_rows:
            raise _cateye.CateyeError(f"A: expected {self._fit.num_rows} rows (the training rows), got {table.num_rows}")
        rows = json.loads(_cateye.best_linear_projection(self._fit, table))
        return {r["term"]: {k: v for k, v in r.items() if k != "term"} for r in rows}

    def variable_importance(self) -> Dict[str, float]:
        """Split-frequency importance of each covariate (grf's ``variable_importance``)."""
        self._fitted()
        return {v["covariate"]: v["importance"] for v in self.summary_["variable_importance"]}

class RegressionForest(_Estimator):
    """An honest regression forest of ``E[Y | X]`` (grf's ``regression_forest``), with grf's
    defaults; the parameters are :class:`CausalForest`'s (``ci_group_size`` is not used).

    After ``fit(X, y)``: ``predict()`` gives the out-of-bag estimates of the training rows,
    ``predict(X)`` those of new rows; ``variable_importance()``; ``summary_`` holds the
    out-of-bag mean squared error.
    """

    _params = _PARAMS + ("threads", "progress")
    __init__ = CausalForest.__init__

    def report(self, path: Any = None) -> Any:
        """Regression forests have no report: the report shows treatment effects."""
        raise _cateye.CateyeError("a RegressionForest has no report: reports show a CausalForest or CateLearner fit")

    def fit(self, X: Any, y: Any, *, sample_weight: Any = None, clusters: Any = None) -> "RegressionForest":
        """Fits the forest to covariates `X` and outcomes `y` (optionally weighted by
        `sample_weight`, with trees drawing whole `clusters`)."""
        covariates_table = covariate_table(X)
        rows = covariates_table.num_rows
        columns: Dict[str, Any] = {"y": vector(y, "y", rows)}
        if sample_weight is not None:
            columns["sample_weight"] = vector(sample_weight, "sample_weight", rows)
        if clusters is not None:
            columns["clusters"] = cluster_codes(clusters, rows)
        table, covariates, names = _training_table(covariates_table, columns)
        roles = {"outcome": "y", "weights": "sample_weight", "cluster": "clusters"}
        spec: Dict[str, Any] = {role: names[arg] for role, arg in roles.items() if arg in names}
        spec["covariates"] = covariates
        spec["options"] = {name: getattr(self, name) for name in _PARAMS}
        with _progress.shown(self.progress) as bar:
            summary, oob, model = _cateye.fit_regression_forest(table, json.dumps(spec), "training data", bar,
                                                               self.threads)
        self._model = model
        self.summary_: Dict[str, Any] = json.loads(summary)
        self.covariates_ = list(model.covariates)
        self._oob = pa.table(oob).column("prediction").to_numpy()
        return self

    def predict(self, X: Any = None) -> np.ndarray:
        """Estimates of ``E[Y | X]`` for the rows of `X` (None: the training rows, out of bag)."""
        self._fitted()
        if X is None:
            return self._oob
        table = covariate_table(X, self.covariates_ if isinstance(X, np.ndarray) else None)
        return pa.table(self._model.predict(table, "X", self.threads)).column("prediction").to_numpy()

    def variable_importance(self) -> Dict[str, float]:
        """Split-frequency importance of each covariate."""
        self._fitted()
        return {v["covariate"]: v["importance"] for v in self.summary_["variable_importance"]}
