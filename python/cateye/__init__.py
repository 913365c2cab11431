"""cateye: find who an online experiment helps and who it hurts.

The scan (:func:`scan`) detects across many experiments, metrics and breakdown dimensions
whether an effect varies and which dimensions explain it; :func:`stats_sql` writes the SQL that
reduces a warehouse table to the statistics :func:`scan_stats` scans; :class:`CausalForest` fits
grf's honest causal forest to one experiment; :class:`CateLearner` runs the debiased CATE
learners; :class:`RegressionForest` fits ``E[Y | X]``.
Data goes in as pyarrow, polars or pandas tables (without a copy, through the Arrow C stream
interface), numpy arrays, or file paths. :func:`report` (and each result's ``report()``) renders
a self-contained HTML report. Errors are :class:`CateyeError`, a ``ValueError``.
"""

from ._cateye import CateyeError, __version__
from ._forest import CausalForest, RegressionForest
from ._learners import CateLearner, select_cate
from ._report import Report, report
from ._scan import TABLES, ScanResult, SuffStats, scan, scan_stats, stats_sql, suff_stats

__all__ = [
    "CateyeError",
    "CausalForest",
    "CateLearner",
    "RegressionForest",
    "Report",
    "ScanResult",
    "SuffStats",
    "TABLES",
    "report",
    "scan",
    "scan_stats",
    "stats_sql",
    "select_cate",
    "suff_stats",
    "__version__",
]
