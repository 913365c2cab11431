"""The scan: tier 1 (SRM, effects, detection, dimension tests, FDR) and the deep dive."""

from __future__ import annotations

import html
import json
from typing import Any, Dict, List, Optional, Sequence

import pyarrow as pa

from . import _cateye, _progress
from ._data import as_source, label_of

#: The tables of a scan, in the order of ``cateye scan``'s output files.
TABLES = ("srm", "effects", "detection", "dimensions", "levels", "findings")


def _flatten(row: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    """A scan.json row as a flat record: nested objects become ``outer_inner`` columns."""
    flat: Dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "_"))
        else:
            flat[name] = value
    return flat


def _table(rows: List[Dict[str, Any]]) -> pa.Table:
    records = [_flatten(r) for r in rows]
    names: Dict[str, None] = {}
    for r in records:
        names.update(dict.fromkeys(r))
    return pa.Table.from_pylist([{n: r.get(n) for n in names} for r in records]) if records else pa.table({})


class ScanResult:
    """The results of :func:`scan`: the tables as pyarrow Tables, the deep dive as dicts.

    ``srm``, ``effects``, ``detection``, ``findings``: as in ``scan.json`` (nested fields
    flattened to ``outer_inner`` columns); ``dimensions`` and ``levels``: the per-dimension and
    per-level tables of ``dimensions.parquet`` and ``levels.parquet``; ``deep_dive``: the deep
    dive's report (a dict, None when it did not run); ``stats``: the sufficient statistics
    (:class:`SuffStats`). ``to_json()`` is the ``scan.json`` document.
    """

    def __init__(self, report: str, dimensions: Any, levels: Any, stats: Any = None) -> None:
        self._json = report
        self._report = json.loads(report)
        self.dimensions: pa.Table = pa.table(dimensions)
        self.levels: pa.Table = pa.table(levels)
        self.stats = SuffStats(stats) if stats is not None else None
        self._tables: Dict[str, pa.Table] = {}

    def _rows(self, name: str) -> pa.Table:
        if name not in self._tables:
            self._tables[name] = _table(self._report.get(name, []))
        return self._tables[name]

    @property
    def srm(self) -> pa.Table:
        """Sample ratio mismatch per experiment."""
        return self._rows("srm")

    @property
    def effects(self) -> pa.Table:
        """Average effect, lift and CUPED per experiment × metric × arm."""
        return self._rows("effects")

    @property
    def detection(self) -> pa.Table:
        """Whether the effect varies, per experiment × metric × arm."""
        return self._rows("detection")

    @property
    def findings(self) -> pa.Table:
        """The flagged dimensions, ranked by evidence."""
        return self._rows("findings")

    @property
    def deep_dive(self) -> Optional[Dict[str, Any]]:
        """The deep dive's report (pairs, verdicts, decompositions), or None."""
        return self._report.get("deep_dive")

    @property
    def warnings(self) -> List[str]:
        """What the scan pooled, skipped or doubted."""
        return list(self._report.get("input", {}).get("warnings", []))

    def to_dict(self) -> Dict[str, Any]:
        """The ``scan.json`` document as a dict."""
        return json.loads(self._json)

    def to_json(self) -> str:
        """The ``scan.json`` document."""
        return self._json

    def to_pandas(self, table: str = "findings"):
        """One of :data:`TABLES` as a pandas DataFrame."""
        return self._named(table).to_pandas()

    def to_polars(self, table: str = "findings"):
        """One of :data:`TABLES` as a polars DataFrame."""
        import polars as pl

        return pl.from_arrow(self._named(table))

    def _named(self, table: str) -> pa.Table:
        if table not in TABLES:
            raise _cateye.CateyeError(f"no table '{table}': the tables are {', '.join(TABLES)}")
        return getattr(self, table)

    def _summary(self) -> List[str]:
        r = self._report
        srm = sum(1 for s in r.get("srm", []) if s.get("mismatch"))
        lines = [
            f"{len(r.get('srm', []))} experiments, {len(r.get('effects', []))} experiment × metric × arm pairs, "
            f"{self.dimensions.num_rows} dimension tests",
            f"sample ratio mismatch: {srm} of {len(r.get('srm', []))}",
            f"findings: {len(r.get('findings', []))}",
        ]
        dd = r.get("deep_dive")
        if dd is not None:
            lines.append(f"deep dive: {len(dd.get('pairs', []))} pairs")
        return lines

    def __repr__(self) -> str:
        return "ScanResult(" + "; ".join(self._summary()) + ")"

    def _report_json(self) -> str:
        return self._json

    def report(self, path=None):
        """The HTML report of the scan: with ``path``, written there (the path is returned);
        without, a :class:`cateye.Report`, which a notebook shows."""
        from ._report import report

        return report(self, path)

    def _repr_html_(self) -> str:
        return self.report()._repr_html_()


class SuffStats:
    """Sufficient statistics of unit-level rows: they merge exactly across partitions, and
    scan as the rows would."""

    def __init__(self, native: Any) -> None:
        self._native = native

    def merge(self, other: "SuffStats") -> "SuffStats":
        """The statistics of both sets of rows."""
        return SuffStats(self._native.merge(other._native))

    def to_arrow(self) -> pa.Table:
        """The statistics table (what :func:`scan_stats` and ``cateye scan --stats`` read)."""
        return pa.table(self._native.to_arrow())

    def scan(self, **options: Any) -> ScanResult:
        """The tier-1 scan of these statistics (options as for :func:`scan`; no deep dive)."""
        report, dims, levels = self._native.scan(_config(options, None), "statistics")
        return ScanResult(report, dims, levels, self._native)


def _config(options: Dict[str, Any], deep_dive: Any) -> str:
    settings = {k: v for k, v in options.items() if v is not None}
    for key in ("metrics", "dimensions", "ignore"):
        if isinstance(settings.get(key), str):
            settings[key] = [settings[key]]
    dd = dict(settings.pop("deep_dive_options", None) or {})
    if deep_dive is not None:
        dd["pairs"] = deep_dive if isinstance(deep_dive, str) else int(deep_dive)
    if dd:
        settings["deep_dive"] = dd
    return json.dumps(settings)


def scan(
    data: Any,
    *,
    experiment: Optional[str] = None,
    variant: Optional[str] = None,
    metrics: Optional[Sequence[str]] = None,
    dimensions: Optional[Sequence[str]] = None,
    control: Optional[str] = None,
    cluster: Optional[str] = None,
    correction: Optional[str] = None,
    alpha: Optional[float] = None,
    deep_dive: Any = None,
    deep_dive_options: Optional[Dict[str, Any]] = None,
    progress: Any = None,
    threads: Optional[int] = None,
    **options: Any,
) -> ScanResult:
    """Scans unit-level experiment results for heterogeneous effects, as ``cateye scan`` does.

    Parameters
    ----------
    data : path, pyarrow Table or RecordBatchReader, polars or pandas DataFrame
        One row per (experiment, unit). Tables cross into the engine without a copy.
    experiment, variant : str
        The experiment and arm columns (default ``experiment``, ``variant``).
    metrics, dimensions : list of str
        Metric and dimension columns (default: picked by type, as the CLI does).
    control : str
        The control arm's label (default ``control``).
    cluster : str
        Randomization-unit column for cluster-robust tests.
    correction : {"bh", "by", "holm", "hierarchical"}
        The multiple-testing correction (default ``bh``).
    alpha : float
        The false discovery rate (default 0.05).
    deep_dive : int, "all" or "none"
        Flagged pairs analysed by the deep dive (default 20).
    deep_dive_options : dict
        Other keys of the config file's ``[deep_dive]`` table (trees, seed, requested, ...).
    progress : None, bool or callable
        None: a progress bar in an interactive terminal or notebook only.
    threads : int
        Worker threads (default: all cores); the results do not depend on it.
    **options
        Any other key of a ``cateye scan`` config file (bins, max_levels, split, ...).

    Raises
    ------
    CateyeError
        (a ValueError) naming the column, row, value or setting at fault.
    """
    settings = dict(options, experiment=experiment, variant=variant, metrics=metrics, dimensions=dimensions,
                    control=control, cluster=cluster, correction=correction, alpha=alpha,
                    deep_dive_options=deep_dive_options)
    with _progress.shown(progress) as bar:
        report, dims, levels, stats = _cateye.scan(
            as_source(data), _config(settings, deep_dive), label_of(data), bar, threads
        )
    return ScanResult(report, dims, levels, stats)


def suff_stats(data: Any, *, threads: Optional[int] = None, **options: Any) -> SuffStats:
    """The sufficient statistics of the unit-level rows of `data` (roles as for :func:`scan`):
    reduce each partition of a large table, :meth:`SuffStats.merge` them, then scan."""
    return SuffStats(_cateye.suff_stats(as_source(data), _config(options, None), label_of(data), threads))


def scan_stats(data: Any, *, threads: Optional[int] = None, **options: Any) -> ScanResult:
    """The scan of a statistics table (from :meth:`SuffStats.to_arrow`, ``cateye stats`` or the
    warehouse); there are no unit-level rows, so no deep dive."""
    report, dims, levels, stats = _cateye.scan_stats(
        as_source(data), _config(options, "none"), label_of(data), threads
    )
    return ScanResult(report, dims, levels, stats)


def stats_sql(
    table: str,
    *,
    metrics: Sequence[str],
    dimensions: Optional[Sequence[str]] = None,
    dialect: str = "ansi",
    cuped: bool = False,
    pre: Any = None,
    experiment: Optional[str] = None,
    variant: Optional[str] = None,
    pre_prefix: Optional[str] = None,
    **options: Any,
) -> str:
    """The SQL that turns a unit-level table in a warehouse into the statistics table that
    :func:`scan_stats` (and ``cateye scan --stats``) scans: one query, as ``cateye stats-sql``
    prints it (see ``crates/cateye-scan/src/stats_sql.rs`` for what it computes).

    Parameters
    ----------
    table : str
        The unit-level table as the query names it, inserted as written: a name (``events``,
        ``db.events``) or a table expression (DuckDB: ``read_parquet('rows.parquet')``).
    metrics : list of str
        Metric columns (required: the SQL cannot look up the table's columns).
    dimensions : list of str
        Categorical dimension columns (default none); the SQL does not bin, so ``bins`` is refused.
    dialect : {"ansi", "spark"}
        ANSI SQL (double-quoted identifiers; runs in DuckDB) or Spark SQL (backticks).
    cuped : bool
        Every metric has a pre-period covariate column ``pre_prefix + metric``.
    pre : list of str or dict
        Metrics with a covariate column ``pre_prefix + metric`` (a list), or metric → covariate
        column (a dict); they take precedence over ``cuped``.
    experiment, variant, pre_prefix : str
        Columns and prefix as for :func:`scan` (defaults ``experiment``, ``variant``, ``pre_``).
    **options
        Other keys of a ``cateye scan`` config file; those that concern the scan of the table
        (alpha, correction, ...) do not change the query.

    Raises
    ------
    CateyeError
        No metrics, a name used twice, a cluster column, ``bins``, an unknown dialect.
    """
    if isinstance(pre, dict):
        listed = [(str(m), None if c is None else str(c)) for m, c in pre.items()]
    else:
        listed = [(str(m), None) for m in ([pre] if isinstance(pre, str) else (pre or []))]
    settings = dict(options, metrics=metrics, dimensions=dimensions, experiment=experiment, variant=variant,
                    pre_prefix=pre_prefix)
    return _cateye.stats_sql(table, _config(settings, None), dialect, bool(cuped), listed)
