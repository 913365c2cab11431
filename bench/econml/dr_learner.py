"""EconML comparison for cateye's `bench cate`.

Fits an EconML DR-learner with random-forest nuisance models on a CSV and prints one
JSON line:
  {"fit_seconds", "predict_seconds", "peak_mb", "n", "ate"[, "pehe"]}
"pehe" (RMSE of effect(X) against the true effect) is added when the CSV has a `tau` column.

Usage:
  python dr_learner.py FILE.csv --outcome y --treatment w --covariates x1,...,x10 \
      [--trees 100] [--folds 5] [--propensity 0.5] [--final rf|honest]

--final rf (default) is econml.dr.DRLearner with a scikit-learn RandomForestRegressor
(min_samples_leaf 5) as the final model; --final honest is econml.dr.ForestDRLearner,
whose final model is EconML's honest (grf-style) forest with --trees trees, the closest
match to cateye's final stage.

--propensity switches the propensity model to DummyClassifier(strategy='prior'),
i.e. a constant propensity equal to the sample treatment rate (the given value is
recorded in the output but not otherwise used).
"""
import argparse
import json
import resource
import time

import numpy as np
import pandas as pd
from econml.dr import DRLearner, ForestDRLearner
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("csv")
    ap.add_argument("--outcome", required=True)
    ap.add_argument("--treatment", required=True)
    ap.add_argument("--covariates", required=True, help="comma-separated column names")
    ap.add_argument("--trees", type=int, default=100)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--propensity", type=float, default=None)
    ap.add_argument("--final", choices=["rf", "honest"], default="rf")
    a = ap.parse_args()

    df = pd.read_csv(a.csv)
    X = df[a.covariates.split(",")].to_numpy(dtype=float)
    y = df[a.outcome].to_numpy(dtype=float)
    w = df[a.treatment].to_numpy()

    rf = dict(n_estimators=a.trees, min_samples_leaf=5, n_jobs=-1, random_state=0)
    prop = DummyClassifier(strategy="prior") if a.propensity is not None else RandomForestClassifier(**rf)
    if a.final == "rf":
        est = DRLearner(
            model_regression=RandomForestRegressor(**rf),
            model_propensity=prop,
            model_final=RandomForestRegressor(**rf),
            cv=a.folds,
            random_state=0,
        )
    else:
        est = ForestDRLearner(
            model_regression=RandomForestRegressor(**rf),
            model_propensity=prop,
            cv=a.folds,
            n_estimators=a.trees,
            n_jobs=-1,
            random_state=0,
        )

    t0 = time.perf_counter()
    est.fit(y, w, X=X)
    t1 = time.perf_counter()
    tau_hat = np.ravel(est.effect(X))
    t2 = time.perf_counter()

    kb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
          + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
    out = {
        "fit_seconds": round(t1 - t0, 4),
        "predict_seconds": round(t2 - t1, 4),
        "peak_mb": round(kb / 1024, 1),
        "n": len(df),
        "final": a.final,
        "ate": float(tau_hat.mean()),
    }
    if "tau" in df.columns:
        out["pehe"] = float(np.sqrt(np.mean((tau_hat - df["tau"].to_numpy(dtype=float)) ** 2)))
    if a.propensity is not None:
        out["propensity"] = a.propensity
    print(json.dumps(out))


if __name__ == "__main__":
    main()
