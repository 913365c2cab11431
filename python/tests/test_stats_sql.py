"""The warehouse path: the SQL of ``cateye.stats_sql`` (``cateye stats-sql``), run in DuckDB
(ANSI dialect) and in Spark (Spark dialect, when pyspark is importable) on unit-level rows, gives
the statistics table whose scan (``cateye.scan_stats``) is the scan of the rows.

How close "is" is: the query sums about the experiment's mean in the engine's order, the
unit-level scan about the first value in file order, so the sums differ at rounding (1e-16
relative per term). Through the scan that stays at rounding except where a result is
ill-conditioned, and the comparison says so per kind of number (``TOLERANCE``):

- p- and q-values, relative (the t, F and chi-square tails of ``cateye_stats::dist`` are accurate
  and smooth to ~1e-15, so they pass the sums' rounding on; with statrs' tails, whose lnΓ(df/2)
  prefactor moved a p-value by 4e-11 when df moved by an ulp, this was 3.9e-11);
- estimates, interval bounds, z: the difference in units of the estimate's standard error (a
  small difference of large sums, e.g. a CI bound near zero, is exact only to the rounding of
  the sums; the t quantile inherits the tail's 1e-11);
- everything else (means, se, df, test statistics, variances), relative.

The measured maxima are in ``MEASURED`` (DuckDB and Spark; runs vary with the engines' summation
order); the tolerances are a few times them.
"""

import math

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import cateye
from conftest import fixture_path, worst_differences

METRICS = ["m0", "m1", "m2"]
DIMENSIONS = ["country", "platform", "tenure", "region"]

#: Largest differences measured between the scan of the SQL's statistics and the scan of the
#: rows (ab_scan_12x8000, 3 metrics with covariates, 4 dimensions; 8 runs of DuckDB 2.0.1, 3 of
#: Spark 4.0.1 in local[2]): p-values 3.2e-12 with the tails of cateye_stats::dist (3.9e-11, an
#: ATE's, with statrs' tails),
#: estimates and bounds 3.5e-12 standard errors (a CUPED CI bound; ATEs 1.8e-14, level effects
#: 4.5e-14), other numbers 9.8e-13 relative (a debiased between-level variance, a difference;
#: means 2.2e-16, standard errors 5e-15).
MEASURED = {"p": 3.2e-12, "se_units": 3.5e-12, "relative": 9.8e-13}
TOLERANCE = {"p": 1e-11, "se_units": 1e-11, "relative": 3e-12}

def run_duckdb(sql, **tables):
    """The result of `sql` in a fresh DuckDB connection where `tables` (pyarrow) are views."""
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
    return con.sql(sql).to_arrow_table()


def assert_same_scan(got, want):
    """`got` (a scan of statistics) is `want` (a scan of the rows) to ``TOLERANCE``; returns the
    differences found."""
    worst = worst_differences(got.to_dict(), want.to_dict())
    for kind, (value, where) in worst.items():
        assert value <= TOLERANCE[kind], f"{kind}: {value:.2e} at {where} (tolerance {TOLERANCE[kind]:.0e})"
    assert got.findings.num_rows == want.findings.num_rows
    assert got.levels.column("level").to_pylist() == want.levels.column("level").to_pylist()
    return worst


@pytest.fixture(scope="module")
def rows():
    return pq.read_table(fixture_path("ab_scan_12x8000.parquet"))


@pytest.fixture(scope="module")
def rows_scan(rows):
    return cateye.scan(rows, metrics=METRICS, dimensions=DIMENSIONS, deep_dive="none", progress=False)


class Engine:
    """Runs the query of ``cateye.stats_sql`` on pyarrow rows: DuckDB with the ANSI dialect, or
    Spark (``spark.sql``) with the Spark dialect."""

    def __init__(self, dialect, spark=None):
        self.dialect, self.spark = dialect, spark

    def stats(self, rows, view="units", table=None, **options):
        """The statistics table of `rows`, a view named `view`, which the query names `table`
        (default: `view` as written)."""
        sql = cateye.stats_sql(table or view, dialect=self.dialect, **options)
        if self.spark is None:
            return run_duckdb(sql, **{view: rows})
        self.spark.createDataFrame(rows).createOrReplaceTempView(view)
        return self.spark.sql(sql).toArrow()


@pytest.fixture(scope="module", params=["duckdb", "spark"])
def engine(request):
    if request.param == "duckdb":
        return Engine("ansi")
    return Engine("spark", request.getfixturevalue("spark"))


def test_the_query_gives_the_scan_of_the_rows(engine, rows, rows_scan):
    stats = engine.stats(rows, metrics=METRICS, dimensions=DIMENSIONS, cuped=True)
    # One row per experiment × metric × arm, plus one per level of each dimension.
    levels = sum(len(set(rows.column(d).to_pylist())) for d in DIMENSIONS)
    assert stats.num_rows == 12 * 3 * 2 * (1 + levels)
    assert set(stats.column("covariate").to_pylist()) == {"pre_m0", "pre_m1", "pre_m2"}
    got = cateye.scan_stats(stats)
    worst = assert_same_scan(got, rows_scan)
    assert got.findings.num_rows > 0, "the fixture has findings to compare"
    print(f"{engine.dialect} against the rows:", {k: f"{v:.1e} at {w}" for k, (v, w) in worst.items()})


def test_the_statistics_are_the_rows_statistics(engine, rows, rows_scan):
    """Counts equal exactly; per cell, the mean `shift_y + sum_y / n` is the rows' mean."""
    stats = engine.stats(rows, metrics=METRICS, dimensions=DIMENSIONS, cuped=True)
    mine = rows_scan.stats.to_arrow()
    keys = ["experiment", "metric", "dimension", "level", "variant"]

    def by_cell(table):
        records = table.select(keys + ["units", "n", "sum_y", "shift_y", "pre_imputed"]).to_pylist()
        return {tuple(r[k] for k in keys): r for r in records}

    got, want = by_cell(stats), by_cell(mine)
    assert got.keys() == want.keys()
    for cell, g in got.items():
        w = want[cell]
        assert (g["units"], g["n"]) == (w["units"], w["n"]), cell
        assert (g["pre_imputed"] or 0) == (w["pre_imputed"] or 0), cell
        mean_g = g["shift_y"] + g["sum_y"] / g["n"]
        mean_w = w["shift_y"] + w["sum_y"] / w["n"]
        assert math.isclose(mean_g, mean_w, rel_tol=1e-13), cell


def with_holes(rows):
    """The fixture with missing values everywhere the scan knows them: null, NaN and ±inf metric
    values, null and NaN covariates, null dimension levels, null experiments and variants."""
    n = rows.num_rows
    index = pa.array(range(n))

    def hole(column, every, offset, value):
        mask = pc.equal(pc.bit_wise_and(pc.add(index, offset), every - 1), 0)
        values = rows.column(column)
        filler = pa.scalar(value, values.type) if value is not None else pa.scalar(None, values.type)
        return pc.if_else(mask, filler, values)

    out = rows
    for column, every, offset, value in [
        ("m0", 16, 0, None),
        ("m0", 32, 3, float("nan")),
        ("m1", 64, 5, float("inf")),
        ("m1", 64, 9, float("-inf")),
        ("pre_m0", 8, 1, None),
        ("pre_m1", 16, 2, float("nan")),
        ("country", 32, 7, None),
        ("experiment", 128, 11, None),
        ("variant", 128, 13, None),
    ]:
        out = out.set_column(out.schema.get_field_index(column), column, hole(column, every, offset, value))
    return out


def test_missing_values_are_missing_as_in_the_scan(engine, rows):
    holes = with_holes(rows)
    stats = engine.stats(holes, metrics=METRICS, dimensions=DIMENSIONS, cuped=True)
    got = cateye.scan_stats(stats)
    want = cateye.scan(holes, metrics=METRICS, dimensions=DIMENSIONS, deep_dive="none", progress=False)
    # Missing metric values are counted, not used; the imputed covariates are counted alike.
    effects_got, effects_want = got.to_dict()["effects"], want.to_dict()["effects"]
    for g, w in zip(effects_got, effects_want):
        assert (g["n"], g["missing"]) == (w["n"], w["missing"]), (g["experiment"], g["metric"])
        assert g["cuped"]["pre_imputed"] == w["cuped"]["pre_imputed"], (g["experiment"], g["metric"])
    assert any(g["missing"][0] > 0 for g in effects_got) and any(g["cuped"]["pre_imputed"][0] > 0 for g in effects_got)
    assert "(null)" in got.levels.column("level").to_pylist()
    # The query imputes a missing covariate at shift_x, the experiment's mean of it; the scan
    # at its first value. With the rows' holes filled with shift_x, every number is the same.
    shift = {
        (r["experiment"], r["metric"]): r["shift_x"]
        for r in stats.select(["experiment", "metric", "shift_x"]).to_pylist()
    }
    filled = holes
    for metric in ("m0", "m1"):
        pre = "pre_" + metric
        fill = pa.array(
            [shift.get((e, metric)) for e in holes.column("experiment").to_pylist()], pa.float64()
        )
        values = holes.column(pre)
        missing = pc.fill_null(pc.invert(pc.is_finite(values)), True)
        column = pc.if_else(pc.and_(missing, pc.is_valid(holes.column("experiment"))), fill, values)
        filled = filled.set_column(filled.schema.get_field_index(pre), pre, column)
    want_filled = cateye.scan(filled, metrics=METRICS, dimensions=DIMENSIONS, deep_dive="none", progress=False)
    got_dict, want_dict = got.to_dict(), want_filled.to_dict()
    for g, w in zip(got_dict["effects"], want_dict["effects"]):
        w["cuped"]["pre_imputed"] = g["cuped"]["pre_imputed"]  # counted by the SQL, filled in the rows
    worst = worst_differences(got_dict, want_dict)
    for kind, (value, where) in worst.items():
        assert value <= TOLERANCE[kind], f"{kind}: {value:.2e} at {where}"


def hostile(rows):
    """Two experiments of the fixture with names that break naive quoting."""
    small = rows.filter(pc.is_in(rows.column("experiment"), pa.array(["exp0000", "exp0001"])))
    names = {
        "experiment": 'exp "id"',
        "variant": "arm 'v' \\",
        "m0": 'rev`enue"; DROP TABLE units; --',
        "pre_m0": 'pre_rev`enue"; DROP TABLE units; --',
        "m1": "it's \\' OR 1=1",
        "country": "coun'try\\",
        "platform": "plat\nform ✓",
    }
    return small.rename_columns([names.get(c, c) for c in small.column_names]), names


def test_hostile_names_are_quoted(engine, rows):
    table, names = hostile(rows)
    metrics, dimensions = [names["m0"], names["m1"]], [names["country"], names["platform"]]
    roles = dict(experiment=names["experiment"], variant=names["variant"], metrics=metrics, dimensions=dimensions)
    # The table is inserted as written: the caller quotes it as the dialect does.
    if engine.spark is None:
        where = dict(view='unit "rows"', table='"unit ""rows"""')
    else:
        where = dict(view="unit_rows", table="`unit_rows`")
    stats = engine.stats(table, pre=[names["m0"]], **where, **roles)
    assert set(stats.column("metric").to_pylist()) == set(metrics)
    assert set(stats.column("dimension").to_pylist()) == set(dimensions) | {""}
    want = cateye.scan(table, deep_dive="none", progress=False, **roles)
    assert [e["cuped"] is not None for e in want.to_dict()["effects"]] == [True, False] * 2
    assert_same_scan(cateye.scan_stats(stats), want)


def test_requests_the_sql_cannot_serve_are_refused():
    with pytest.raises(cateye.CateyeError, match="cannot bin"):
        cateye.stats_sql("units", metrics=["m0"], dimensions=["tenure"], bins=4)
    with pytest.raises(cateye.CateyeError, match="--metrics"):
        cateye.stats_sql("units", metrics=[])
    with pytest.raises(cateye.CateyeError, match="cluster"):
        cateye.stats_sql("units", metrics=["m0"], cluster="user")
    with pytest.raises(cateye.CateyeError, match="not a metric"):
        cateye.stats_sql("units", metrics=["m0"], pre=["m9"])
    with pytest.raises(cateye.CateyeError, match="spark or ansi"):
        cateye.stats_sql("units", metrics=["m0"], dialect="oracle")
    # A dict names the covariate column; a list takes the prefix.
    named = cateye.stats_sql("units", metrics=["m0", "m1"], pre={"m0": "before"}, dialect="spark")
    assert "`before`" in named and "`pre_m0`" not in named and "(1, 'm1', '')" in named
    listed = cateye.stats_sql("units", metrics=["m0"], pre=["m0"], pre_prefix="was_")
    assert '"was_m0"' in listed
