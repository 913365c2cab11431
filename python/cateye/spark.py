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
        table = pa.Table.from_batches(batches)
        stats = _cateye.suff_stats(table, config, f"{label} (partition {TaskContext.get().partitionId()})", threads)
        yield pa.RecordBatch.from_pydict(
            {"partition": [TaskContext.get().partitionId()], "stats": [stats.to_bytes()]},
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
    (tier 1 to rounding, ~1e-15 relative; the deep dive's forests on the same rows in the same
    order). Not supported yet: ``cluster`` and float (binned) dimensions.
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
