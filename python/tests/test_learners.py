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
            "--method", "dr", "--trees", 100, "--seed", 5, "--out", tmp_path)
    units = pq.read_table(tmp_path / "cate.parquet")
    learner = cateye.CateLearner(method="dr", trees=100, seed=5, progress=False).fit(*xyw)
    assert np.array_equal(learner.effect(), units.column("cate").to_numpy())
    summary = json.loads((tmp_path / "cate.json").read_text())
    assert_close(learner.summary_["arms"][0]["ate"], summary["arms"][0]["ate"])
    assert learner.ate() == {"ate": summary["arms"][0]["ate"], "se": summary["arms"][0]["ate_se"]}
    with pytest.raises(NotImplementedError):
        learner.effect_interval()


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
