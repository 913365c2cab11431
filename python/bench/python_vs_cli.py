"""The Python layer's cost over the command line, and EconML beside cateye, in one run.

1. Scan of the 2M-row benchmark data (`cateye bench scan`'s file: 20 experiments, 10 metrics
   with pre-period columns, 10 dimensions of 8 levels), deep dive off: the CLI on the Parquet
   file, `cateye.scan` on the same path, and `cateye.scan` on the table already in memory (with
   plain strings, as `pyarrow.parquet.read_table` gives them by default, and with the file's
   dictionary-encoded strings).
2. The causal forest on n = 20,000 rows of Nie & Wager's setup A with 10 covariates (2,000
   trees, seed 1): the CLI on the CSV, `cateye.CausalForest` on numpy arrays.
3. EconML's CausalForestDML and DRLearner on the same 20,000 rows from the same process: time,
   and accuracy against the true effects (PEHE: RMSE of the CATE; coverage of 95% intervals).

Runs alternate (CLI, Python, CLI, Python, ...) and the median of --repeat runs is reported.
Usage: python python_vs_cli.py --cli target/release/cateye --scan-file F.parquet --trial F.csv
"""

import argparse
import json
import statistics
import subprocess
import tempfile
import time

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

import cateye


def timed(f):
    start = time.perf_counter()
    out = f()
    return time.perf_counter() - start, out


def cli_run(args):
    return timed(lambda: subprocess.run(args, check=True, capture_output=True))[0]


def median_pairs(name, runs):
    print(f"  {name}: " + ", ".join(f"{k} {statistics.median(v):.3f} s" for k, v in runs.items()))
    return {k: statistics.median(v) for k, v in runs.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--scan-file", required=True)
    ap.add_argument("--trial", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--trees", type=int, default=2000)
    ap.add_argument("--skip-econml", action="store_true")
    a = ap.parse_args()
    results = {}

    # 1. The scan.
    schema = pq.read_schema(a.scan_file)
    metrics = [c for c in schema.names if c.startswith("m")]
    dims = [c for c in schema.names if c.startswith("d")]
    table = pq.read_table(a.scan_file)
    # pyarrow decodes the file's dictionary-encoded strings to plain strings unless told not to;
    # the CLI reads them as dictionaries, whose codes the scan takes without hashing a string.
    strings = [f.name for f in schema if str(f.type) == "string"]
    dictionary_table = pq.read_table(a.scan_file, read_dictionary=strings)
    runs = {"cli (file)": [], "python (file)": [], "python (table in memory)": [],
            "python (table in memory, dictionary strings)": []}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(a.repeat):
            runs["cli (file)"].append(cli_run([a.cli, "scan", a.scan_file, "--metrics", ",".join(metrics),
                                               "--dimensions", ",".join(dims), "--deep-dive", "none",
                                               "--out", out, "--quiet"]))
            runs["python (file)"].append(timed(lambda: cateye.scan(a.scan_file, metrics=metrics, dimensions=dims,
                                                                   deep_dive="none", progress=False))[0])
            runs["python (table in memory)"].append(timed(lambda: cateye.scan(table, metrics=metrics, dimensions=dims,
                                                                              deep_dive="none", progress=False))[0])
            runs["python (table in memory, dictionary strings)"].append(timed(
                lambda: cateye.scan(dictionary_table, metrics=metrics, dimensions=dims, deep_dive="none",
                                    progress=False))[0])
    print(f"scan of {table.num_rows:,} rows ({table.nbytes / 1e6:.0f} MB in memory), {len(metrics)} metrics, "
          f"{len(dims)} dimensions:")
    results["scan"] = median_pairs("median", runs)

    # 2. The causal forest.
    trial = pacsv.read_csv(a.trial)
    covariates = [c for c in trial.column_names if c.startswith("x")]
    X = np.column_stack([trial.column(c).to_numpy() for c in covariates])
    y, w, tau = (trial.column(c).to_numpy() for c in ("y", "w", "tau"))
    runs = {"cli (csv)": [], "python (numpy)": []}
    forest = None
    with tempfile.TemporaryDirectory() as out:
        for _ in range(a.repeat):
            runs["cli (csv)"].append(cli_run([a.cli, "forest", a.trial, "--outcome", "y", "--treatment", "w",
                                              "--covariates", ",".join(covariates), "--trees", str(a.trees),
                                              "--seed", "1", "--out", out, "--quiet"]))
            seconds, forest = timed(lambda: cateye.CausalForest(num_trees=a.trees, seed=1, progress=False).fit(X, y, w))
            runs["python (numpy)"].append(seconds)
    print(f"causal forest, n = {len(y):,}, p = {len(covariates)}, {a.trees} trees:")
    results["forest"] = median_pairs("median", runs)
    cate = forest.predict()
    lower, upper = forest.effect_interval()
    accuracy = {"cateye CausalForest": {
        "seconds": results["forest"]["python (numpy)"],
        "pehe": float(np.sqrt(np.mean((cate - tau) ** 2))),
        "coverage95": float(np.mean((lower <= tau) & (tau <= upper))),
        "ate": forest.average_treatment_effect()["estimate"],
    }}
    seconds, learner = timed(lambda: cateye.CateLearner(method="dr", trees=100, seed=1, propensity="estimate", progress=False).fit(X, y, w))
    accuracy["cateye CateLearner(dr, 100-tree forests, estimated propensity)"] = {
        "seconds": seconds, "pehe": float(np.sqrt(np.mean((learner.effect() - tau) ** 2))),
        "ate": learner.ate()["ate"],
    }

    # 3. EconML on the same rows.
    if not a.skip_econml:
        from econml.dml import CausalForestDML
        from econml.dr import DRLearner
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        def causal_forest_dml():
            est = CausalForestDML(model_y=RandomForestRegressor(n_estimators=100, min_samples_leaf=5, n_jobs=-1),
                                  model_t=RandomForestClassifier(n_estimators=100, min_samples_leaf=5, n_jobs=-1),
                                  discrete_treatment=True, n_estimators=a.trees, random_state=1, n_jobs=-1)
            return est.fit(y, w, X=X)

        seconds, est = timed(causal_forest_dml)
        lo, hi = est.effect_interval(X, alpha=0.05)
        effect = est.effect(X)
        accuracy[f"EconML CausalForestDML ({a.trees} trees)"] = {
            "seconds": seconds, "pehe": float(np.sqrt(np.mean((effect - tau) ** 2))),
            "coverage95": float(np.mean((lo <= tau) & (tau <= hi))), "ate": float(est.ate(X)),
        }

        def dr_learner():
            est = DRLearner(model_regression=RandomForestRegressor(n_estimators=100, min_samples_leaf=5, n_jobs=-1),
                            model_propensity=RandomForestClassifier(n_estimators=100, min_samples_leaf=5, n_jobs=-1),
                            model_final=RandomForestRegressor(n_estimators=100, min_samples_leaf=5, n_jobs=-1),
                            cv=5, random_state=1)
            return est.fit(y, w, X=X)

        seconds, est = timed(dr_learner)
        accuracy["EconML DRLearner (100-tree RF nuisances and final)"] = {
            "seconds": seconds, "pehe": float(np.sqrt(np.mean((est.effect(X) - tau) ** 2))), "ate": float(est.ate(X)),
        }
    print(f"accuracy on the same {len(y):,} rows (true ATE {tau.mean():.4f}):")
    for name, r in accuracy.items():
        print(f"  {name}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()))
    results["accuracy"] = accuracy
    print(json.dumps(results))


if __name__ == "__main__":
    main()
