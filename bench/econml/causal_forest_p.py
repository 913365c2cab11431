"""cateye's causal forest against EconML's CausalForestDML as the number of covariates grows.

Issue 16's item 6: cateye's lead over grf shrank as p grew. R's grf is not in Debian, so the
peer here is EconML's grf-style forest, run on the same rows in the same run. For each p in
--covariates, one CSV of Nie & Wager's setup A (n = --rows; x1..x5 carry the signal, the rest
is noise) is written; then

- cateye: `cateye forest FILE --trees T` end to end (nuisance regression forests of T/4 trees,
  the causal forest, out-of-bag CATEs with little-bag variances), run as a child process;
- EconML 0.16: `CausalForestDML` with random-forest nuisances of T/4 trees (min leaf 5,
  2 cross-fitting folds), T honest trees, min leaf 5, half-samples, little bags of 2 and the
  same mtry as grf's and cateye's default (min(ceil(sqrt(p) + 20), p)); `effect_interval` on
  the training rows.

Prints one JSON line per p: wall seconds and peak MB of each, their ratio (the lead), and the
RMSE and 95% coverage of the true effect of each.

With --baseline OLD, an earlier cateye binary is timed on the same rows too (before and after,
back to back), and whether its CATEs are identical is reported.

Usage:
  python causal_forest_p.py --cateye target/release/cateye [--baseline OLD] [--rows 4802] \
      [--trees 2000] [--covariates 10,58,100]
"""
import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import pandas as pd


def setup_a(n, p, seed):
    """Nie & Wager (2021) setup A: e = trim(sin(pi x1 x2)), tau = (x1 + x2) / 2."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, p))
    e = np.clip(np.sin(np.pi * x[:, 0] * x[:, 1]), 0.1, 0.9)
    b = np.sin(np.pi * x[:, 0] * x[:, 1]) + 2 * (x[:, 2] - 0.5) ** 2 + x[:, 3] + 0.5 * x[:, 4]
    tau = (x[:, 0] + x[:, 1]) / 2
    w = (rng.uniform(size=n) < e).astype(int)
    y = b + (w - 0.5) * tau + rng.normal(size=n)
    df = pd.DataFrame(x, columns=[f"x{j + 1}" for j in range(p)])
    df["w"], df["y"] = w, y
    return df, tau


def accuracy(tau_hat, se, tau):
    rmse = float(np.sqrt(np.mean((tau_hat - tau) ** 2)))
    covered = float(np.mean(np.abs(tau_hat - tau) <= 1.959964 * se))
    return rmse, covered


def run_cateye(binary, csv, covariates, trees, out):
    start = time.perf_counter()
    child = subprocess.run(
        ["/usr/bin/time", "-f", "%M", binary, "forest", csv, "--outcome", "y", "--treatment", "w",
         "--covariates", ",".join(covariates), "--trees", str(trees), "--format", "csv", "--out", out],
        capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if child.returncode != 0:
        sys.exit(f"cateye forest failed: {child.stderr}")
    peak_mb = int(child.stderr.strip().splitlines()[-1]) / 1024
    cate = pd.read_csv(os.path.join(out, "cate.csv"))
    return seconds, peak_mb, cate


def run_econml(df, covariates, trees, mtry):
    from econml.dml import CausalForestDML
    from sklearn.ensemble import RandomForestRegressor

    x = df[covariates].to_numpy()
    nuisance = dict(n_estimators=max(trees // 4, 50), min_samples_leaf=5, max_features=mtry, n_jobs=-1,
                    random_state=0)
    est = CausalForestDML(model_y=RandomForestRegressor(**nuisance), model_t=RandomForestRegressor(**nuisance),
                          cv=2, n_estimators=trees, min_samples_leaf=5, max_features=mtry, max_samples=0.5,
                          honest=True, inference=True, subforest_size=2, n_jobs=-1, random_state=0)
    start = time.perf_counter()
    est.fit(df["y"].to_numpy(), df["w"].to_numpy(dtype=float), X=x)
    lo, hi = est.effect_interval(x, alpha=0.05)
    tau_hat = est.effect(x)
    seconds = time.perf_counter() - start
    return seconds, np.ravel(tau_hat), (np.ravel(hi) - np.ravel(lo)) / (2 * 1.959964)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cateye", required=True, help="the cateye binary")
    ap.add_argument("--rows", type=int, default=4802)
    ap.add_argument("--trees", type=int, default=2000)
    ap.add_argument("--covariates", default="10,58,100")
    ap.add_argument("--baseline", help="another cateye binary (an earlier commit) timed on the same rows")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for p in [int(v) for v in a.covariates.split(",")]:
            df, tau = setup_a(a.rows, p, seed=p)
            covariates = [f"x{j + 1}" for j in range(p)]
            csv = os.path.join(tmp, f"a_p{p}.csv")
            df.to_csv(csv, index=False)
            mtry = min(math.ceil(math.sqrt(p) + 20), p)
            c_seconds, c_mb, cate = run_cateye(a.cateye, csv, covariates, a.trees, os.path.join(tmp, f"out{p}"))
            c_rmse, c_cov = accuracy(cate["cate"].to_numpy(), cate["se"].to_numpy(), tau)
            baseline = {}
            if a.baseline:
                b_seconds, b_mb, b_cate = run_cateye(a.baseline, csv, covariates, a.trees, os.path.join(tmp, f"b{p}"))
                same = bool(np.array_equal(b_cate["cate"].to_numpy(), cate["cate"].to_numpy()))
                baseline = {"baseline_seconds": round(b_seconds, 2), "baseline_peak_mb": round(b_mb),
                            "baseline_same_cate": same}
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            e_seconds, e_tau, e_se = run_econml(df, covariates, a.trees, mtry)
            e_rmse, e_cov = accuracy(e_tau, e_se, tau)
            e_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, before) / 1024
            print(json.dumps({
                "n": a.rows, "p": p, "mtry": mtry, "trees": a.trees,
                "cateye_seconds": round(c_seconds, 2), "cateye_peak_mb": round(c_mb),
                "cateye_rmse": round(c_rmse, 4), "cateye_coverage": round(c_cov, 3),
                "econml_seconds": round(e_seconds, 2), "econml_peak_mb": round(e_mb),
                "econml_rmse": round(e_rmse, 4), "econml_coverage": round(e_cov, 3),
                "lead": round(e_seconds / c_seconds, 2),
                **({"baseline_lead": round(e_seconds / baseline["baseline_seconds"], 2)} if baseline else {}),
                **baseline,
            }), flush=True)


if __name__ == "__main__":
    main()
