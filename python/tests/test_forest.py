"""cateye.CausalForest against the command line and grf's figures; models, pickling, errors."""

import json
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import cateye
from conftest import assert_close, fixture_path, run_cli

COVARIATES = [f"x{j}" for j in range(1, 7)]
TREES = 300


@pytest.fixture(scope="module")
def trial():
    return pacsv.read_csv(fixture_path("nw_a_n4000_p6.csv"))


@pytest.fixture(scope="module")
def forest(trial):
    X = trial.select(COVARIATES).to_pandas()
    y = trial.column("y").to_numpy()
    w = trial.column("w").to_numpy()
    return cateye.CausalForest(num_trees=TREES, seed=1, progress=False).fit(X, y, w)


def test_forest_equals_the_command_line(cli, tmp_path, trial, forest):
    path = fixture_path("nw_a_n4000_p6.csv")
    run_cli(cli, "forest", path, "--outcome", "y", "--treatment", "w", "--covariates", ",".join(COVARIATES),
            "--trees", TREES, "--seed", 1, "--out", tmp_path, "--save-model", tmp_path / "forest.model")
    units = pq.read_table(tmp_path / "cate.parquet")
    # The same forest: bit-identical per-unit estimates.
    assert np.array_equal(forest.predict(), units.column("cate").to_numpy())
    cate, variance = forest.predict(estimate_variance=True)
    assert np.array_equal(np.sqrt(variance), units.column("se").to_numpy())
    summary = json.loads((tmp_path / "forest.json").read_text())
    for key in ("average_treatment_effect", "calibration", "rate", "variable_importance", "cate_mean", "cate_sd"):
        assert_close(forest.summary_[key], summary[key], rel=1e-12, path=key)
    # The analyses called from Python reproduce the summary's.
    assert_close(forest.average_treatment_effect("all"), summary["average_treatment_effect"][0])
    assert_close(forest.average_treatment_effect("overlap"), summary["average_treatment_effect"][3])
    assert_close(forest.test_calibration(), summary["calibration"])
    assert_close(forest.rank_average_treatment_effect(forest.predict()), summary["rate"])
    # New rows: Python's predictions equal `cateye predict` with the CLI's model file.
    run_cli(cli, "predict", tmp_path / "forest.model", path, "--out", tmp_path / "predict")
    predicted = pq.read_table(tmp_path / "predict" / "predictions.parquet")
    new = trial.select(COVARIATES)
    assert np.array_equal(forest.effect(new), predicted.column("cate").to_numpy())
    # And the CLI predicts with a model file written from Python as Python does.
    forest.save(tmp_path / "python.model")
    run_cli(cli, "predict", tmp_path / "python.model", path, "--out", tmp_path / "predict-python")
    from_python = pq.read_table(tmp_path / "predict-python" / "predictions.parquet")
    assert from_python.column("cate").equals(predicted.column("cate"))
    lower, upper = forest.effect_interval(new)
    assert np.array_equal(lower, predicted.column("ci_lower").to_numpy())
    assert np.array_equal(upper, predicted.column("ci_upper").to_numpy())


def test_forest_is_near_the_truth_and_grf(trial, forest):
    """Setup A: tau = (x1 + x2) / 2. With 300 trees the forest is noisier than grf's 2,000; the
    tolerances are a few of grf's standard errors."""
    grf = json.loads(fixture_path("nw_a_n4000_p6.grf.json").read_text())
    tau = trial.column("tau").to_numpy()
    rmse = float(np.sqrt(np.mean((forest.predict() - tau) ** 2)))
    assert rmse < 1.5 * grf["rmse_oob"], (rmse, grf["rmse_oob"])
    ate = forest.average_treatment_effect()
    assert abs(ate["estimate"] - grf["ate"]) < 3 * grf["ate_se"], ate
    blp = forest.best_linear_projection(trial.select(["x1", "x2"]))
    for term in ("x1", "x2"):
        assert abs(blp[term]["estimate"] - grf[f"blp_{term}"]) < 4 * grf[f"blp_{term}_se"], blp
    everything = forest.best_linear_projection()
    assert set(everything) >= set(COVARIATES)
    importance = forest.variable_importance()
    assert max(importance, key=importance.get) in ("x1", "x2")


def test_numpy_input_and_intervals(trial):
    X = np.column_stack([trial.column(c).to_numpy() for c in COVARIATES])
    y, w = trial.column("y").to_numpy(), trial.column("w").to_numpy()
    f = cateye.CausalForest(num_trees=100, seed=3, progress=False).fit(X, y, w)
    assert f.covariates_ == [f"x{j}" for j in range(6)]
    cate = f.effect(X[:10])
    lower, upper = f.effect_interval(X[:10], alpha=0.1)
    assert cate.shape == (10,) and np.all(lower < cate) and np.all(cate < upper)
    wide_lower, _ = f.effect_interval(X[:10], alpha=0.01)
    assert np.all(wide_lower < lower)
    again = cateye.CausalForest(num_trees=100, seed=3, threads=1, progress=False).fit(X, y, w)
    assert np.array_equal(again.predict(), f.predict()), "results depend on the number of threads"


def test_pickle_round_trip_predicts_identically(trial, forest, tmp_path):
    restored = pickle.loads(pickle.dumps(forest))
    new = trial.select(COVARIATES).slice(0, 500)
    assert np.array_equal(restored.effect(new), forest.effect(new))
    assert np.array_equal(restored.predict(), forest.predict())
    assert restored.get_params() == dict(forest.get_params(), progress=None)
    assert_close(restored.test_calibration(), forest.test_calibration())


def test_parameters_are_the_library_defaults():
    defaults = json.loads(cateye._cateye.forest_defaults())
    params = cateye.CausalForest().get_params()
    assert {k: params[k] for k in defaults} == defaults
    f = cateye.CausalForest().set_params(num_trees=10)
    assert f.num_trees == 10
    with pytest.raises(ValueError, match="num_tress"):
        f.set_params(num_tress=10)
    assert "num_trees" in cateye.CausalForest.__doc__ and "min_node_size" in cateye.CausalForest.__doc__


def test_bad_input_is_a_value_error_naming_the_column(trial):
    X = trial.select(COVARIATES).to_pandas()
    y, w = trial.column("y").to_numpy(), trial.column("w").to_numpy()
    f = cateye.CausalForest(num_trees=100, progress=False)
    with pytest.raises(ValueError, match="w: expected numbers"):
        f.fit(X, y, np.where(w > 0, "treated", "control"))
    with_inf = X.copy()
    with_inf.loc[17, "x3"] = np.inf
    with pytest.raises(ValueError, match="x3"):
        f.fit(with_inf, y, w)
    with pytest.raises(ValueError, match="y"):
        f.fit(X, np.where(np.arange(len(y)) == 5, np.nan, y), w)
    with pytest.raises(ValueError, match="y: expected 4000 values"):
        f.fit(X, y[:-1], w)
    with pytest.raises(ValueError, match="two-dimensional"):
        f.fit(X["x1"].to_numpy(), y, w)
    with pytest.raises(ValueError, match="w"):
        f.fit(X, y, w * 2)
    with pytest.raises(ValueError, match="not fitted"):
        cateye.CausalForest().predict()
    fitted = cateye.CausalForest(num_trees=100, progress=False).fit(X, y, w)
    with pytest.raises(ValueError, match="x6"):
        fitted.effect(X.drop(columns=["x6"]))


def test_missing_covariates_from_pandas_pyarrow_and_polars_fit_and_predict_alike(trial):
    """NaN in pandas, null in pyarrow and polars: the same missing values, the same forest (MIA)."""
    polars = pytest.importorskip("polars")
    X = trial.select(COVARIATES).to_pandas()
    y, w = trial.column("y").to_numpy(), trial.column("w").to_numpy()
    missing = np.random.default_rng(5).random(len(y)) < 0.2
    X.loc[missing, "x1"] = np.nan
    table = pa.Table.from_pandas(X, preserve_index=False)
    assert table.column("x1").null_count == missing.sum()
    inputs = {"pandas": X, "pyarrow": table, "polars": polars.from_arrow(table)}
    fits = {k: cateye.CausalForest(num_trees=100, seed=2, progress=False).fit(v, y, w) for k, v in inputs.items()}
    effects = {k: f.effect() for k, f in fits.items()}
    assert np.isfinite(effects["pandas"]).all()
    np.testing.assert_array_equal(effects["pandas"], effects["pyarrow"])
    np.testing.assert_array_equal(effects["pandas"], effects["polars"])
    # New rows with a missing value are predicted too, the same from every input.
    new = X.iloc[:50]
    np.testing.assert_array_equal(fits["pandas"].effect(new), fits["polars"].effect(polars.from_pandas(new)))
    tau = (trial.column("x1").to_numpy() + trial.column("x2").to_numpy()) / 2
    rmse = np.sqrt(np.mean((effects["pandas"] - tau) ** 2))
    assert rmse < 0.35, rmse


def test_regression_forest_recovers_the_conditional_mean(trial):
    """Setup A: E[y | x] = sin(pi x1 x2) + 2 (x3 - 0.5)^2 + x4 + x5 / 2 + (e - 0.5) tau."""
    x = {c: trial.column(c).to_numpy() for c in COVARIATES}
    e, tau = trial.column("e").to_numpy(), trial.column("tau").to_numpy()
    truth = np.sin(np.pi * x["x1"] * x["x2"]) + 2 * (x["x3"] - 0.5) ** 2 + x["x4"] + x["x5"] / 2 + (e - 0.5) * tau
    X = trial.select(COVARIATES)
    forest = cateye.RegressionForest(num_trees=300, seed=2, progress=False).fit(X, trial.column("y").to_numpy())
    rmse = float(np.sqrt(np.mean((forest.predict() - truth) ** 2)))
    # The conditional mean's SD is about 0.5 and the noise's 1: at n = 4,000 the forest's
    # out-of-bag error is well under the SD (a constant would score the SD itself).
    assert rmse < 0.6 * truth.std(), (rmse, truth.std())
    assert abs(forest.summary_["oob_mse"] - np.mean((forest.predict() - trial.column("y").to_numpy()) ** 2)) < 1e-9
    importance = forest.variable_importance()
    assert max(importance, key=importance.get) in ("x1", "x2", "x4")
    new = X.slice(0, 300)
    restored = pickle.loads(pickle.dumps(forest))
    assert np.array_equal(restored.predict(new), forest.predict(new))
    assert float(np.sqrt(np.mean((forest.predict(new) - truth[:300]) ** 2))) < 0.6 * truth.std()
