"""cateye on Spark: the scan and its deep dive where the data already lives.

:func:`scan` reduces every partition of a PySpark DataFrame to cateye's sufficient statistics
on the executors (``mapInArrow``: the partition's Arrow batches go to the engine without a
copy), merges the partial statistics on the driver and scans them there: the tier-1 results are
those of :func:`cateye.scan` on the same rows, whatever the partitioning. The deep dive is
planned on the driver from the merged statistics; the flagged experiments' rows are grouped by
experiment (``groupBy().applyInArrow``) and each experiment's pairs are analysed on an
executor, in the rows' DataFrame order, each pair seeded by itself: the same deep dive as the
single-machine scan. :func:`causal_forest` spreads one causal forest's trees over executors.

What moves over the network: each partition's statistics (a few kB per experiment × metric ×
dimension level; never rows) to the driver; for the deep dive, the flagged experiments' rows
once (a shuffle by experiment) and each pair's results back; for the forest, the experiment's
rows to each executor and per-row sums back. See README's "cateye on Spark".
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Sequence

import pyarrow as pa

from . import _cateye
from ._data import as_source
from ._scan import ScanResult, SuffStats, _config

#: Columns cateye adds to the DataFrame for its own bookkeeping.
_ROW = "__cateye_row"
_EXPERIMENT = "__cateye_experiment"


def _pyspark():
    try:
        from pyspark.sql import functions
    except ImportError as e:  # pragma: no cover - pyspark is a test dependency
        raise ImportError("cateye.spark needs PySpark: pip install pyspark") from e
    return functions


def _settings(options: Dict[str, Any]) -> Dict[str, Any]:
    settings = {k: v for k, v in options.items() if v is not None}
    if settings.get("cluster"):
        raise _cateye.CateyeError(
            "cateye.spark.scan does not take a cluster column yet: a cluster's rows may sit in several "
            "partitions, and cluster-robust sums do not merge (scan it with cateye.scan)"
        )
    return settings


def _float_dimensions(df: Any, settings: Dict[str, Any]) -> List[str]:
    from pyspark.sql.types import DoubleType, FloatType

    named = settings.get("dimensions") or []
    if isinstance(named, str):
        named = [named]
    floats = {f.name for f in df.schema.fields if isinstance(f.dataType, (DoubleType, FloatType))}
    return [d for d in named if d in floats]


def partial_stats(df: Any, *, threads: int = 1, **options: Any) -> List[bytes]:
    """Each non-empty partition of `df` reduced on its executor to sufficient statistics, as
    bytes (``SuffStats.to_bytes``), in partition order. Options as for :func:`cateye.scan`."""
    settings = _settings(options)
    binned = _float_dimensions(df, settings)
    if binned:
        raise _cateye.CateyeError(
            f"dimension '{binned[0]}' is a float column, which cateye bins by quantiles of all rows: "
            "cateye.spark.scan takes categorical dimensions (bin it in Spark, or cast it to string)"
        )
    config = _config(settings, "none")
    label = "Spark DataFrame"

    def reduce(batches):
        from pyspark import TaskContext

        batches = [b for b in batches if b.num_rows > 0]
        if not batches:
            return
        partition = TaskContext.get().partitionId()
        table = pa.Table.from_batches(batches)
        stats = _cateye.suff_stats(table, config, f"{label} (partition {partition})", threads)
        yield pa.RecordBatch.from_pydict(
            {"partition": [partition], "stats": [stats.to_bytes()]},
            schema=pa.schema([("partition", pa.int64()), ("stats", pa.binary())]),
        )

    rows = df.mapInArrow(reduce, "partition long, stats binary").collect()
    return [bytes(r["stats"]) for r in sorted(rows, key=lambda r: r["partition"])]


def merge_stats(parts: Sequence[bytes]) -> SuffStats:
    """The merged statistics of partial statistics (bytes of ``SuffStats.to_bytes``)."""
    if not parts:
        raise _cateye.CateyeError("the DataFrame has no rows to scan")
    merged = _cateye.SuffStats.from_bytes(parts[0])
    for part in parts[1:]:
        merged = merged.merge(_cateye.SuffStats.from_bytes(part))
    return SuffStats(merged)


def scan(
    df: Any,
    *,
    deep_dive: Any = None,
    deep_dive_options: Optional[Dict[str, Any]] = None,
    threads: int = 1,
    **options: Any,
) -> ScanResult:
    """Scans a PySpark DataFrame of unit-level rows as :func:`cateye.scan` scans a table.

    Parameters are those of :func:`cateye.scan` (``experiment``, ``variant``, ``metrics``,
    ``dimensions``, ``control``, ``correction``, ``alpha``, ``deep_dive``, ...), with
    ``threads`` the engine's threads per Spark task (default 1: Spark runs a task per core).

    Tier 1 runs on partial statistics merged on the driver; the deep dive, on the executors,
    one experiment per task, on the experiment's rows in the DataFrame's order (that of the file
    read, when nothing reorders it): the results are those of ``cateye.scan`` on the same rows
    (tier 1 to 1e-12: sums added in another order move at rounding; the deep dive identical).
    Not supported yet: ``cluster`` and float (binned) dimensions.
    """
    settings = _settings(dict(options, deep_dive_options=deep_dive_options))
    merged = merge_stats(partial_stats(df, threads=threads, **settings))
    config = _config(settings, deep_dive)
    label = "Spark DataFrame"
    _, dims, levels = merged._native.scan(config, label)
    report = json.loads(_cateye.deep_dive_plan(merged._native, config, label))
    dd = report.get("deep_dive")
    if dd is not None:
        dd["pairs"], dd["failed"] = _deep_dive(df, dd, merged, config, settings, threads)
        dd.pop("remaining", None)
    return ScanResult(json.dumps(report), dims, levels, merged._native)


def _deep_dive(df, plan, merged, config, settings, threads):
    """The pairs of `plan` analysed on the executors, in selection order: (pairs, failed)."""
    F = _pyspark()
    selected = plan["selection"]["selected"]
    experiments = sorted({p["experiment"] for p in selected})
    if not experiments:
        return [], []
    experiment = settings.get("experiment", "experiment")
    stats = df.sparkSession.sparkContext.broadcast(merged._native.to_bytes())
    label = "Spark DataFrame"

    def analyse(table: pa.Table) -> pa.Table:
        table = table.sort_by(_ROW)
        name = table.column(_EXPERIMENT)[0].as_py()
        rows = table.drop_columns([_ROW, _EXPERIMENT])
        out = _cateye.deep_dive_experiment(rows, f"{label} (experiment {name})", config, stats.value, name, threads)
        return pa.table(
            {"index": [o[0] for o in out], "ok": [o[1] for o in out], "result": [o[2] for o in out]},
            schema=pa.schema([("index", pa.int64()), ("ok", pa.bool_()), ("result", pa.string())]),
        )

    rows = (
        df.withColumn(_ROW, F.monotonically_increasing_id())
        .withColumn(_EXPERIMENT, F.col(experiment).cast("string"))
        .filter(F.col(_EXPERIMENT).isin(experiments))
        .groupBy(_EXPERIMENT)
        .applyInArrow(analyse, "index long, ok boolean, result string")
        .collect()
    )
    outcomes = sorted(rows, key=lambda r: r["index"])
    pairs = [json.loads(r["result"]) for r in outcomes if r["ok"]]
    failed = [json.loads(r["result"]) for r in outcomes if not r["ok"]]
    return pairs, failed


class ShardedCausalForest:
    """The result of :func:`causal_forest`: the out-of-bag estimates of the training rows, the
    estimates of the new rows given to the fit, and the analyses of :class:`cateye.CausalForest`
    that rest on the training rows' (AIPW average effects, the calibration test). The trees stay
    on the executors: there is no model to predict other rows later."""

    def __init__(self, columns: Dict[str, Any], new: Dict[str, Any], shards: int, seconds: Dict[str, float]) -> None:
        self._fit = pa.table(columns)
        self._new = new
        self.shards = shards
        self.seconds_ = seconds

    def predict(self, estimate_variance: bool = False):
        """Out-of-bag CATE of every training row (and its variance), in the DataFrame's row order."""
        tau = self._fit.column("tau").to_numpy()
        return (tau, self._fit.column("variance").to_numpy()) if estimate_variance else tau

    def predict_new(self, estimate_variance: bool = False):
        """CATE of the rows given as ``X_new`` to :func:`causal_forest` (and its variance)."""
        tau = self._new["tau"]
        return (tau, self._new["variance"]) if estimate_variance else tau

    @property
    def y_hat(self):
        return self._fit.column("y_hat").to_numpy()

    @property
    def w_hat(self):
        return self._fit.column("w_hat").to_numpy()

    def average_treatment_effect(self, target_sample: str = "all") -> Dict[str, Any]:
        """AIPW estimate of the average effect, as :meth:`cateye.CausalForest.average_treatment_effect`."""
        return json.loads(_cateye.average_treatment_effect(self._analysis(), target_sample))

    def test_calibration(self) -> Dict[str, Any]:
        """grf's calibration test, as :meth:`cateye.CausalForest.test_calibration`."""
        return json.loads(_cateye.test_calibration(self._analysis()))

    def _analysis(self) -> pa.Table:
        return self._fit.select(["y", "w", "y_hat", "w_hat", "tau"])


def causal_forest(
    df: Any,
    *,
    outcome: str,
    treatment: str,
    covariates: Sequence[str],
    X_new: Any = None,
    num_trees: int = 2000,
    executors: int = 2,
    seed: int = 42,
    threads: int = 1,
    **options: Any,
) -> ShardedCausalForest:
    """An honest causal forest on one experiment's rows, its trees grown on `executors` Spark
    tasks: the same estimates as ``cateye.CausalForest(num_trees=..., seed=...).fit(X, y, w)``
    on the rows in the DataFrame's order.

    The rows' needed columns are collected once and broadcast, so every task holds the
    experiment's rows (the forest's split search needs all of them); each task grows its share
    of the little bags and returns per-row partial sums (the leaf statistics of its trees that
    predict the row, as double-double sums), which the driver adds. Three passes: the nuisance
    forests (``ŷ``, ``ŵ``), the causal trees' points, then the same trees' little-bag variance
    terms at the merged points (the trees are grown again: a bag's variance term needs the
    forest's estimate, which only the driver has). ``X_new`` (a table with the covariates'
    columns: pyarrow, pandas, polars or a Spark DataFrame) is predicted in the same passes, as
    ``CausalForest.predict(X_new)`` predicts it. Other keyword options are
    :class:`cateye.CausalForest`'s (``min_node_size``, ``mtry``, ``ci_group_size``, ...).
    """
    import time
    import uuid

    import numpy as np

    if executors < 1:
        raise _cateye.CateyeError(f"executors: expected at least 1, got {executors}")
    covariates = [covariates] if isinstance(covariates, str) else list(covariates)
    columns = [outcome, treatment] + [c for c in covariates if c not in (outcome, treatment)]
    start = time.perf_counter()
    table = df.select(*columns).toArrow()
    spec = json.dumps({"outcome": outcome, "treatment": treatment, "covariates": covariates,
                       "options": dict(options, num_trees=num_trees, seed=seed)})
    label = "Spark DataFrame"
    new = None
    if X_new is not None:
        new = X_new.select(*covariates).toArrow() if hasattr(X_new, "sparkSession") else pa.table(as_source(X_new))
    driver = _cateye.ForestShards(table, spec, label, new)
    spark = df.sparkSession
    rows = spark.sparkContext.broadcast((_ipc(table), None if new is None else _ipc(new)))
    key = uuid.uuid4().hex
    seconds = {"collect": time.perf_counter() - start}

    def stage(name: str, task):
        """Runs `task(forest, shard)` for every shard on its own Spark task; bytes by shard."""
        begin = time.perf_counter()

        def run(batches):
            forest = _executor_forest(key, rows, spec, label)
            for batch in batches:
                for shard in batch.column(0).to_pylist():
                    yield pa.RecordBatch.from_pydict(
                        {"shard": [shard], "partial": [task(forest, shard)]},
                        schema=pa.schema([("shard", pa.int64()), ("partial", pa.binary())]),
                    )

        out = spark.range(executors, numPartitions=executors).mapInArrow(run, "shard long, partial binary").collect()
        seconds[name] = time.perf_counter() - begin
        return [bytes(r["partial"]) for r in sorted(out, key=lambda r: r["shard"])]

    nuisance = stage("nuisance", lambda f, k: f.nuisance_partials(k, executors, threads))
    y_hat, w_hat = driver.nuisance(nuisance)
    points = driver.points(stage("points", lambda f, k: f.point_partials(y_hat, w_hat, k, executors, threads)))
    variances = stage("variances", lambda f, k: f.variance_partials(y_hat, w_hat, points, k, executors, threads))
    tau, variance, new_tau, new_variance = driver.estimates(points, variances)
    vector = lambda b: np.frombuffer(b, dtype="<f8")  # noqa: E731
    fit = {
        "y": table.column(outcome).to_numpy().astype(float), "w": table.column(treatment).to_numpy().astype(float),
        "y_hat": vector(y_hat), "w_hat": vector(w_hat), "tau": vector(tau), "variance": vector(variance),
    }
    return ShardedCausalForest(fit, {"tau": vector(new_tau), "variance": vector(new_variance)}, executors, seconds)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


#: The rows of the last forest an executor's Python worker read (a worker runs the three stages'
#: tasks one after the other: it reads and bins the rows once).
_EXECUTOR_CACHE: Dict[str, Any] = {}


def _executor_forest(key: str, rows, spec: str, label: str):
    if _EXECUTOR_CACHE.get("key") != key:
        table, new = (None if b is None else pa.ipc.open_stream(b).read_all() for b in rows.value)
        _EXECUTOR_CACHE.update(key=key, forest=_cateye.ForestShards(table, spec, f"{label} (executor)", new))
    return _EXECUTOR_CACHE["forest"]
