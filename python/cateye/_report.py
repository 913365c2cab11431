"""HTML reports: one self-contained page of a scan, a causal forest fit or a CATE fit, rendered
by the same Rust code as ``cateye report`` and ``--report`` on the command line."""

import html
import json
import os
import pathlib
from typing import Any, Optional, Union

from . import _cateye


class Report:
    """A rendered report. ``html`` is the page (it needs no network); :meth:`save` writes it;
    in a notebook it shows in a sandboxed frame."""

    def __init__(self, page: str) -> None:
        self.html = page

    def save(self, path: Union[str, os.PathLike]) -> pathlib.Path:
        """Writes the page to ``path`` and returns the path."""
        path = pathlib.Path(path)
        partial = path.with_name(f".cateye-partial-{os.getpid()}-{path.name}")
        partial.write_text(self.html, encoding="utf-8")
        partial.replace(path)
        return path

    def _repr_html_(self) -> str:
        # srcdoc isolates the report's script and style from the notebook's; without
        # allow-same-origin the frame cannot reach the notebook.
        return (
            f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="cateye report" '
            'style="width: 100%; height: 720px; border: 1px solid #d9dde5" '
            'sandbox="allow-scripts allow-popups allow-downloads"></iframe>'
        )

    def __repr__(self) -> str:
        return f"Report({len(self.html.encode('utf-8')):,} bytes of HTML)"


def _results_json(results: Any) -> "tuple[str, str]":
    """The results as JSON text, and a label naming them in errors."""
    if hasattr(results, "_report_json"):
        return results._report_json(), type(results).__name__
    if isinstance(results, dict):
        return json.dumps(results), "results"
    if isinstance(results, str) and results.lstrip().startswith("{"):
        return results, "results"
    if isinstance(results, (str, os.PathLike)):
        path = pathlib.Path(results)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as e:
            raise _cateye.CateyeError(f"{path}: cannot read: {e.strerror}") from None
    raise _cateye.CateyeError(
        f"report: expected a ScanResult, a fitted CausalForest or CateLearner, a results dict, or the path of a "
        f"scan.json, forest.json or cate.json; got {type(results).__name__}"
    )


def report(results: Any, path: Optional[Union[str, os.PathLike]] = None) -> Union[Report, pathlib.Path]:
    """The HTML report of ``results``: a :class:`ScanResult`, a fitted :class:`CausalForest` or
    :class:`CateLearner`, a results dict, or the path of a ``scan.json``, ``forest.json`` or
    ``cate.json``. With ``path``, writes the page there and returns the path; without, returns
    a :class:`Report` (which a notebook shows)."""
    text, label = _results_json(results)
    page = Report(_cateye.render_report(text, label))
    return page if path is None else page.save(path)
