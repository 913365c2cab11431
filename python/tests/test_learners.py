"""cateye.CateLearner and select_cate against the command line; pickling."""

import json
import pickle

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

import cateye
from conftest import assert_close, fixture_path, run_cli

COVARIATES = [f"x{j}" for j in range(1, 7)]


@pytest.fixture(scope="module")
def trial():
    return pacsv.read_csv(fixture_path("nw_b_n4000_p6.csv"))


@pytest.fixture(scope="module")
def xyw(trial):
    return trial.select(COVARIATES), trial.column("y").to_numpy(), trial.column("w").to_numpy()


def test_dr_learner_equals_the_command_line(cli, tmp_path, xyw):
    path = fixture_path("nw_b_n4000_p6.csv")
    run_cli(cli, "cate", path, "--outcome", "y", "--treatment", "w", "--covariates", ",".join(COVARIATES),
            "--method", "dr", "--trees", 100, "--seed", 5, "--intervals", "--interval-trees", 200, "--out", tmp_path)
    units = pq.read_table(tmp_path / "cate.parquet")
    learner = cateye.CateLearner(method="dr", trees=100, seed=5, intervals=True, interval_trees=200,
                                 progress=False).fit(*xyw)
    assert np.array_equal(learner.effect(), units.column("cate").to_numpy())
    summary = json.loads((tmp_path / "cate.json").read_text())
    assert_close(learner.summary_["arms"][0]["ate"], summary["arms"][0]["ate"])
    assert learner.ate() == {"ate": summary["arms"][0]["ate"], "se": summary["arms"][0]["ate_se"]}
    # The DR-learner on the forest base reports the final-stage forest's intervals, as the CLI writes them.
    lower, upper = learner.effect_interval()
    assert np.allclose(lower, units.column("ci_lower").to_numpy()) and np.allclose(upper, units.column("ci_upper").to_numpy())
    assert (lower < learner.effect()).all() and (learner.effect() < upper).all()
    narrower, _ = learner.effect_interval(alpha=0.5)
    assert (narrower > lower).all()
    with pytest.raises(NotImplementedError, match="new rows|training rows"):
        learner.effect_interval(xyw[0])
    s_learner = cateye.CateLearner(method="s", trees=20, seed=5, progress=False).fit(*xyw)
    with pytest.raises(NotImplementedError, match="S-learner"):
        s_learner.effect_interval()


def test_learner_pickle_round_trip_predicts_identically(xyw):
    X, y, w = xyw
    learner = cateye.CateLearner(method="r", trees=50, seed=2, progress=False).fit(X, y, w)
    restored = pickle.loads(pickle.dumps(learner))
    assert np.array_equal(restored.effect(X), learner.effect(X))
    assert np.isfinite(learner.effect(X)).all()


def test_select_cate_returns_the_table_and_the_chosen_learner(xyw):
    X, y, w = xyw
    table, learner = cateye.select_cate(X, y, w, trees=50, seed=1, progress=False)
    assert len(table) > 3 and {"learner", "arm"} <= set(table.columns)
    chosen = learner.summary_["arms"][0]["chosen"]
    assert chosen
    assert learner.effect(X).shape == (X.num_rows,)


def test_unknown_settings_are_value_errors_naming_them(xyw):
    X, y, w = xyw
    with pytest.raises(ValueError, match="tree"):
        cateye.CateLearner(method="dr", base="tree", trees=10, progress=False).fit(X, y, w)
    with pytest.raises(ValueError, match="zz"):
        cateye.CateLearner(method="zz", trees=10, progress=False).fit(X, y, w)


def test_clusters_and_weights_reach_the_learners_as_on_the_command_line(cli, tmp_path, xyw):
    """Clusters of 40 rows: the AIPW SE is cluster-robust (wider than the unit-level one here,
    where neighbouring rows share a cluster); weights change the fit; the CLI agrees."""
    X, y, w = xyw
    clusters = np.arange(len(y)) // 40
    weights = np.where(np.arange(len(y)) % 3 == 0, 2.0, 1.0)
    plain = cateye.CateLearner(method="dr", base="linear", seed=5, progress=False).fit(X, y, w)
    clustered = cateye.CateLearner(method="dr", base="linear", seed=5, progress=False).fit(
        X, y, w, sample_weight=weights, clusters=clusters)
    assert clustered.ate()["ate"] != plain.ate()["ate"]
    table = X.append_column("y", [y]).append_column("w", [w])
    table = table.append_column("wt", [weights]).append_column("cl", [clusters])
    path = tmp_path / "trial.parquet"
    pq.write_table(table, path)
    run_cli(cli, "cate", path, "--outcome", "y", "--treatment", "w", "--covariates", ",".join(COVARIATES),
            "--method", "dr", "--base", "linear", "--seed", 5, "--weights", "wt", "--cluster", "cl",
            "--out", tmp_path / "out")
    summary = json.loads((tmp_path / "out" / "cate.json").read_text())
    assert_close(clustered.ate()["ate"], summary["arms"][0]["ate"])
    assert_close(clustered.ate()["se"], summary["arms"][0]["ate_se"])
