"""cateye.scan against the command line, across input types, and its statistics tables."""

import json

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import cateye
from conftest import assert_close, fixture_path, run_cli

ROLES = dict(metrics=["m0", "m1", "m2"], dimensions=["country", "platform", "tenure", "region"])
CLI_ROLES = ["--metrics", "m0,m1,m2", "--dimensions", "country,platform,tenure,region"]


def comparable(report):
    """The results of a scan without what names or times the run (input label, timings,
    outputs, seconds)."""
    if isinstance(report, dict):
        skip = ("input", "timings", "outputs", "seconds")
        return {k: comparable(v) for k, v in report.items() if k not in skip}
    if isinstance(report, list):
        return [comparable(v) for v in report]
    return report


@pytest.fixture(scope="module")
def ab_table():
    return pq.read_table(fixture_path("ab_scan_12x8000.parquet"))


@pytest.fixture(scope="module")
def ab_scan(ab_table):
    return cateye.scan(ab_table, deep_dive=2, progress=False, **ROLES)


def test_scan_equals_the_command_line(cli, tmp_path, ab_scan):
    path = fixture_path("ab_scan_12x8000.parquet")
    run_cli(cli, "scan", path, *CLI_ROLES, "--deep-dive", "2", "--out", tmp_path)
    expected = json.loads((tmp_path / "scan.json").read_text())
    assert expected["findings"], "the fixture has planted heterogeneity"
    # Same code on the same rows: identical numbers (the tolerance only absorbs nothing).
    assert_close(comparable(ab_scan.to_dict()), comparable(expected), rel=1e-12)
    # The dimension table equals dimensions.csv (written with round-trip precision).
    csv = pacsv.read_csv(tmp_path / "dimensions.csv")
    dims = ab_scan.dimensions
    assert dims.num_rows == csv.num_rows > 0
    for column in ("p_value", "q_value", "explained_variance"):
        got = dims.column(column).to_pylist()
        want = [None if v is None else float(v) for v in csv.column(column).to_pylist()]
        assert_close([None if v != v else v for v in got], want)
    assert dims.column("flagged").to_pylist() == csv.column("flagged").to_pylist()
    levels = pacsv.read_csv(tmp_path / "levels.csv")
    assert ab_scan.levels.num_rows == levels.num_rows
    assert_close(ab_scan.levels.column("effect").to_pylist(), levels.column("effect").to_pylist())


def test_the_tables_and_their_summary(ab_scan):
    findings = ab_scan.findings
    assert findings.num_rows == len(ab_scan.to_dict()["findings"]) > 0
    assert {"experiment", "metric", "dimension"} <= set(findings.column_names)
    assert ab_scan.srm.num_rows == 12
    warned = pc.filter(ab_scan.srm.column("experiment"), ab_scan.srm.column("warning")).to_pylist()
    assert warned == ["exp0010"]  # the fixture's one experiment with a sample ratio mismatch
    assert ab_scan.effects.num_rows == 12 * 3
    assert ab_scan.deep_dive is not None and len(ab_scan.deep_dive["pairs"]) == 2
    assert ab_scan.to_pandas("findings").shape[0] == findings.num_rows
    assert ab_scan.to_polars("dimensions").height == ab_scan.dimensions.num_rows
    assert "findings" in repr(ab_scan) and ab_scan._repr_html_().startswith("<iframe srcdoc=")
    with pytest.raises(cateye.CateyeError, match="no table 'nope'"):
        ab_scan.to_pandas("nope")


def test_pyarrow_pandas_polars_and_streams_give_identical_results(ab_table, ab_scan):
    polars = pytest.importorskip("polars")
    want = comparable(ab_scan.to_dict())
    small_batches = pa.RecordBatchReader.from_batches(ab_table.schema, ab_table.to_batches(max_chunksize=777))
    inputs = {
        "pandas": ab_table.to_pandas(),
        "polars": polars.from_arrow(ab_table),
        "stream of 777-row batches": small_batches,
        "path": str(fixture_path("ab_scan_12x8000.parquet")),
    }
    for name, data in inputs.items():
        got = cateye.scan(data, deep_dive=2, progress=False, **ROLES)
        assert comparable(got.to_dict()) == want, f"{name} input differs from the pyarrow table"
        assert got.dimensions.equals(ab_scan.dimensions), name


def test_partitioned_statistics_merge_to_the_whole_scan(ab_table, ab_scan):
    n = ab_table.num_rows
    cuts = [0, n // 3, n // 2, n]
    parts = [cateye.suff_stats(ab_table.slice(a, b - a), **ROLES) for a, b in zip(cuts, cuts[1:])]
    merged = parts[0].merge(parts[1]).merge(parts[2])
    # The merged statistics are the whole table's sums, taken in another order: equal to
    # rounding (1e-13 relative).
    whole, table = ab_scan.stats.to_arrow(), merged.to_arrow()
    assert table.num_rows == whole.num_rows > 0
    for name in table.column_names:
        got, want = table.column(name).to_pylist(), whole.column(name).to_pylist()
        if pa.types.is_floating(table.schema.field(name).type):
            assert_close(got, want, rel=1e-13, path=name)
        else:
            assert got == want, name
    # Through the scan that rounding is amplified where a result is a small difference of large
    # sums (a mean difference of 0.003 between means near 10, and its p-value's tail): agreement
    # to 1e-9 relative, the same findings, the same flags.
    tier1 = comparable(merged.scan(**ROLES).to_dict())
    want = comparable(ab_scan.to_dict())
    for key in ("srm", "effects", "detection", "dimensions", "findings"):
        assert_close(tier1[key], want[key], rel=1e-9, path=key)
    # The statistics table round-trips through scan_stats.
    again = comparable(cateye.scan_stats(table, **ROLES).to_dict())
    assert_close(again["findings"], tier1["findings"], rel=1e-12)


def test_bad_input_names_the_column(ab_table):
    with pytest.raises(cateye.CateyeError, match="revenue"):
        cateye.scan(ab_table, metrics=["revenue"], dimensions=["country"], deep_dive=0)
    with pytest.raises(ValueError, match="alpah"):
        cateye.scan(ab_table, alpah=0.1, **ROLES)
    with pytest.raises(ValueError, match="alpha"):
        cateye.scan(ab_table, alpha=3.0, **ROLES)
    strings = ab_table.set_column(ab_table.schema.get_field_index("m0"), "m0", pc.cast(ab_table.column("m0"), pa.string()))
    with pytest.raises(ValueError, match="m0"):
        cateye.scan(strings, deep_dive=0, **ROLES)
    with pytest.raises(TypeError, match="expected a path"):
        cateye.scan(42, **ROLES)
