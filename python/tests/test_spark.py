"""cateye.spark in real PySpark (local[2]): the scan of partial statistics merged on the driver
equals the single-machine scan whatever the partitioning, and the deep dive run per experiment
on the executors equals the single-machine deep dive."""

import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401
import pyarrow.csv  # noqa: F401
import pyarrow.parquet as pq
import pytest

import cateye
import cateye.spark as cateye_spark
from conftest import assert_close, fixture_path, worst_differences

# Executors run the tests' interpreter (with cateye and pyarrow), as spark.pyspark.python would.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

OPTIONS = dict(metrics=["m0", "m1", "m2"], dimensions=["country", "platform", "tenure", "region"])
#: Tier 1 of merged partial statistics against the single-machine scan (ab_scan_12x8000, 3
#: metrics with covariates, 4 dimensions; 1, 3, 5, 17 and 40 partitions): the statistics of a
#: partition are summed about its own first row, in another order than the whole file's, which
#: moves the sums at rounding. Measured maxima, by kind of number (see ``worst_differences``):
#: p- and q-values 6.9e-13 relative (a detection q-value), estimates, bounds and z 3.8e-13
#: standard errors (a detection z), everything else 9.6e-13 relative (a between-level explained
#: variance, a difference); one partition gives identical numbers. The tolerance is the issue's
#: 1e-12, which needs the accurate, smooth t, F and chi-square tails of cateye_stats::dist
#: (statrs' moved p-values by 2e-11 when a df moved by an ulp).
MEASURED = {"p": 6.9e-13, "se_units": 3.8e-13, "relative": 9.6e-13}
TOLERANCE = {"p": 1e-12, "se_units": 1e-12, "relative": 1e-12}
#: The deep dive's numbers (from forests grown on the same rows in the same order) agree to this.
REL = 1e-12


def assert_same_scan(single, spark):
    worst = worst_differences(spark.to_dict(), single.to_dict())
    for kind, (value, where) in worst.items():
        assert value <= TOLERANCE[kind], f"{kind}: {value:.2e} at {where} (tolerance {TOLERANCE[kind]:.0e})"
    for table in ("dimensions", "levels"):
        assert getattr(spark, table).num_rows == getattr(single, table).num_rows
    return worst


@pytest.fixture(scope="module")
def ab(spark):
    path = fixture_path("ab_scan_12x8000.parquet")
    return spark.read.parquet(str(path)), pq.read_table(path)


@pytest.fixture(scope="module")
def single(ab):
    return cateye.scan(ab[1], deep_dive="none", **OPTIONS)


@pytest.mark.parametrize("partitions", [1, 3, 17])
def test_scan_equals_the_single_machine_scan_whatever_the_partitioning(ab, single, partitions):
    df = ab[0].repartition(partitions)
    assert df.rdd.getNumPartitions() == partitions
    result = cateye_spark.scan(df, deep_dive="none", **OPTIONS)
    assert result.findings.num_rows == single.findings.num_rows > 0
    assert_same_scan(single, result)


def test_partial_statistics_merge_in_any_order(ab, single):
    parts = cateye_spark.partial_stats(ab[0].repartition(5), **OPTIONS)
    assert len(parts) == 5
    forward = cateye_spark.merge_stats(parts).scan(**OPTIONS)
    backward = cateye_spark.merge_stats(parts[::-1]).scan(**OPTIONS)
    assert_same_scan(single, forward)
    assert_same_scan(single, backward)


def test_empty_partitions_and_experiments_in_one_partition(ab, single):
    # 12 experiments hashed into 40 partitions: most partitions are empty, and each experiment
    # lives in exactly one.
    df = ab[0].repartition(40, "experiment")
    parts = cateye_spark.partial_stats(df, **OPTIONS)
    assert 0 < len(parts) <= 12
    assert_same_scan(single, cateye_spark.scan(df, deep_dive="none", **OPTIONS))


def test_partitions_holding_one_arm_each(ab, single):
    rows = ab[0]
    control = rows.filter(rows["variant"] == "control").coalesce(1)
    df = control.union(rows.filter(rows["variant"] != "control").coalesce(1))  # one arm per partition
    arms = df.rdd.mapPartitions(lambda rows: [len({r["variant"] for r in rows})]).collect()
    assert arms == [1, 1]
    assert_same_scan(single, cateye_spark.scan(df, deep_dive="none", **OPTIONS))


def _without_timings(deep_dive):
    for pair in deep_dive["pairs"]:
        pair.pop("seconds")
    return deep_dive


def test_deep_dive_on_executors_equals_the_single_machine_deep_dive(ab):
    dd = dict(trees=200, seed=7)
    single = cateye.scan(ab[1], deep_dive=3, deep_dive_options=dd, **OPTIONS)
    spark = cateye_spark.scan(ab[0], deep_dive=3, deep_dive_options=dd, **OPTIONS)
    assert len(single.deep_dive["pairs"]) == 3
    assert_close(_without_timings(single.deep_dive), _without_timings(spark.deep_dive), REL, "deep_dive")
    assert_same_scan(single, spark)
    # The report renders from the assembled results.
    assert "cateye-data" in spark.report().html


def test_refusals_name_what_is_not_supported(ab):
    with pytest.raises(cateye.CateyeError, match="cluster"):
        cateye_spark.scan(ab[0], cluster="unit", **OPTIONS)
    floats = ab[0].withColumn("score", ab[0]["m0"] * 1.0)
    with pytest.raises(cateye.CateyeError, match="'score' is a float column"):
        cateye_spark.scan(floats, metrics=["m1"], dimensions=["country", "score"])
    with pytest.raises(cateye.CateyeError, match="no rows"):
        cateye_spark.scan(ab[0].limit(0), **OPTIONS)
    # A partition's statistics may lack the control arm; the scan of what was merged may not.
    treated = cateye.suff_stats(ab[1].filter(pa.compute.equal(ab[1]["variant"], "treatment")), **OPTIONS)
    with pytest.raises(cateye.CateyeError, match="exp0000.*control"):
        treated.scan(**OPTIONS)


def test_causal_forest_on_three_executors_equals_the_single_machine_forest(spark):
    trial = pa.csv.read_csv(fixture_path("nw_a_n4000_p6.csv"))
    covariates = [f"x{i}" for i in range(1, 7)]
    df = spark.createDataFrame(trial.to_pandas())  # the file's rows, in order, in 2 partitions
    rows = df.toArrow()
    settings = dict(num_trees=200, seed=11, min_node_size=5)
    single = cateye.CausalForest(**settings).fit(rows.select(covariates), rows.column("y"), rows.column("w"))
    new = pa.table({c: pa.compute.multiply(rows.column(c).slice(0, 500), 0.9) for c in covariates})
    sharded = cateye_spark.causal_forest(df, outcome="y", treatment="w", covariates=covariates, executors=3,
                                         X_new=new, **settings)
    tau, se = single.predict(), single._units.column("se").to_numpy()
    got_tau, got_variance = sharded.predict(estimate_variance=True)
    # Double-double sums of the shards round to the single machine's doubles: identical.
    assert (got_tau == tau).all() and (np.sqrt(got_variance) == se).all()
    assert (sharded.y_hat == single._fit.column("y_hat").to_numpy()).all()
    # New rows, predicted in the same passes, as the fitted model predicts them.
    want = single._predict_table(new)
    got_tau, got_variance = sharded.predict_new(estimate_variance=True)
    assert (got_tau == want.column("cate").to_numpy()).all()
    assert (np.sqrt(got_variance) == want.column("se").to_numpy()).all()
    assert_close(single.average_treatment_effect(), sharded.average_treatment_effect(), REL)
    assert_close(single.test_calibration(), sharded.test_calibration(), REL)
