"""Getting the caller's data to the engine: paths, Arrow streams, DataFrames and numpy arrays."""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

import numpy as np
import pyarrow as pa

from ._cateye import CateyeError


def label_of(data: Any) -> str:
    """How errors and reports name `data`: its path, or its type."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    kind = type(data)
    return f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"


def as_source(data: Any) -> Any:
    """`data` as the engine reads it: a path, or an object with ``__arrow_c_stream__``.

    pyarrow Tables and RecordBatchReaders, polars DataFrames and pandas DataFrames (2.2 and
    later) export the Arrow C stream themselves, without copying their columns; an older pandas
    DataFrame goes through ``pyarrow.Table.from_pandas``, a dict of columns through
    ``pyarrow.table``.
    """
    if isinstance(data, (str, os.PathLike)) or hasattr(data, "__arrow_c_stream__"):
        return data
    if type(data).__module__.startswith("pandas"):
        return pa.Table.from_pandas(data, preserve_index=False)
    if isinstance(data, dict):
        return pa.table(data)
    raise TypeError(
        f"cannot read a {label_of(data)}: expected a path, a pyarrow Table or RecordBatchReader, "
        "a polars or pandas DataFrame, or a dict of columns"
    )


def column_names(data: Any) -> Optional[list]:
    """The column names of a table-like `data`, or None for an array."""
    if isinstance(data, np.ndarray):
        return None
    if hasattr(data, "column_names"):  # pyarrow
        return list(data.column_names)
    if hasattr(data, "columns"):  # pandas, polars
        return [str(c) for c in data.columns]
    return None


def vector(values: Any, name: str, rows: int) -> np.ndarray:
    """A one-dimensional float array of `rows` values, or a CateyeError naming `name`."""
    if hasattr(values, "to_numpy") and not isinstance(values, np.ndarray):
        values = values.to_numpy()
    array = np.asarray(values)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise CateyeError(f"{name}: expected a one-dimensional array, got shape {array.shape}")
    if array.shape[0] != rows:
        raise CateyeError(f"{name}: expected {rows} values (one per row of X), got {array.shape[0]}")
    if array.dtype.kind in "OUS":
        raise CateyeError(f"{name}: expected numbers, got values of type {array.dtype} (first: {array[:1].tolist()})")
    return array.astype(np.float64, copy=False)


def covariate_table(X: Any, names: Optional[Sequence[str]] = None) -> pa.Table:
    """The covariates `X` (2-D array, DataFrame or table) as a pyarrow Table of float columns."""
    table_names = column_names(X)
    if table_names is not None:
        table = X if isinstance(X, pa.Table) else pa.table(as_source(X))
        return table
    array = np.asarray(X)
    if array.ndim == 1:
        raise CateyeError(f"X: expected a two-dimensional array (rows × covariates), got shape {array.shape}; "
                          "use X.reshape(-1, 1) for one covariate")
    if array.ndim != 2:
        raise CateyeError(f"X: expected a two-dimensional array (rows × covariates), got shape {array.shape}")
    if array.dtype.kind in "OUS":
        raise CateyeError(f"X: expected numbers, got values of type {array.dtype}")
    names = list(names) if names is not None else [f"x{j}" for j in range(array.shape[1])]
    if len(names) != array.shape[1]:
        raise CateyeError(f"X has {array.shape[1]} columns but {len(names)} names were given")
    return pa.table({n: np.ascontiguousarray(array[:, j], dtype=np.float64) for j, n in enumerate(names)})


def cluster_codes(clusters: Any, rows: int) -> np.ndarray:
    """Dense integer codes (from 0) of any cluster labels."""
    if hasattr(clusters, "to_numpy") and not isinstance(clusters, np.ndarray):
        clusters = clusters.to_numpy()
    labels = np.asarray(clusters).reshape(-1)
    if labels.shape[0] != rows:
        raise CateyeError(f"clusters: expected {rows} values (one per row of X), got {labels.shape[0]}")
    _, codes = np.unique(labels, return_inverse=True)
    return codes.astype(np.int64)
