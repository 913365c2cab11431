"""How the package behaves as a Python user expects: the lock released, Ctrl-C, no copy."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np

import cateye


def trial(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    w = rng.integers(0, 2, n).astype(float)
    y = X[:, 0] + w * (X[:, 1] > 0) + rng.normal(size=n)
    return X, y, w


def test_the_interpreter_runs_other_threads_during_a_fit():
    X, y, w = trial(4000)
    ticks = 0
    done = threading.Event()

    def fit():
        cateye.CausalForest(num_trees=400, seed=1, progress=False).fit(X, y, w)
        done.set()

    worker = threading.Thread(target=fit)
    started = time.monotonic()
    worker.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    worker.join()
    elapsed = time.monotonic() - started
    # With the lock held through the fit, this thread could not tick until the fit ended.
    assert elapsed > 0.2, elapsed
    assert ticks > 50, f"{ticks} ticks in {elapsed:.2f} s"


def test_progress_reports_reach_a_callable():
    X, y, w = trial(2000)
    seen = []
    cateye.CausalForest(num_trees=200, seed=1, progress=lambda *r: seen.append(r)).fit(X, y, w)
    stages = {s for s, _, _ in seen}
    assert "causal forest" in stages, stages
    done, total = max((d, t) for s, d, t in seen if s == "causal forest")
    assert 0 < done <= total == 200


CTRL_C = textwrap.dedent(
    """
    import sys, time, numpy as np, cateye
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 10)); w = rng.integers(0, 2, 20000).astype(float)
    y = X[:, 0] + w + rng.normal(size=20000)
    print("fitting", flush=True)
    try:
        cateye.CausalForest(num_trees=200000, seed=1, progress=False).fit(X, y, w)
        print("finished", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    """
)


def test_ctrl_c_stops_a_long_fit_within_about_a_second():
    child = subprocess.Popen([sys.executable, "-c", CTRL_C], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "fitting"
    time.sleep(2.0)  # into the forest (a 200,000-tree fit takes many minutes)
    sent = time.monotonic()
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=60)
    waited = time.monotonic() - sent
    assert out.strip() == "interrupted"
    assert waited < 1.5, f"the fit stopped {waited:.2f} s after Ctrl-C"


NO_COPY = textwrap.dedent(
    """
    import numpy as np, pyarrow as pa, cateye
    n = 10_000_000
    rng = np.random.default_rng(0)
    columns = {"experiment": pa.array(rng.integers(0, 20, n)),
               "variant": pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 2, n).astype(np.int8)),
                                                         pa.array(["control", "treatment"])).cast(pa.string())}
    for j in range(5):
        columns[f"m{j}"] = pa.array(rng.normal(size=n))
    for j in range(5):
        columns[f"d{j}"] = pa.array(rng.integers(0, 8, n))
    table = pa.table(columns)
    del columns
    def rss(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    before = rss("VmRSS:")
    open("/proc/self/clear_refs", "w").write("5")  # reset the peak to the current size
    cateye.scan(table, metrics=[f"m{j}" for j in range(5)], dimensions=[f"d{j}" for j in range(5)],
                deep_dive=0, progress=False)
    print(table.nbytes, before, rss("VmHWM:"))
    """
)


def test_the_scan_does_not_copy_the_table():
    done = subprocess.run([sys.executable, "-c", NO_COPY], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    table_bytes, before, peak = map(int, done.stdout.split())
    grown = peak - before
    print(f"table {table_bytes / 1e6:.0f} MB, RSS before the scan {before / 1e6:.0f} MB, "
          f"peak during it {peak / 1e6:.0f} MB (+{grown / 1e6:.0f} MB)")
    assert table_bytes > 800e6
    assert grown < 300e6, f"the scan grew the process by {grown / 1e6:.0f} MB over a {table_bytes / 1e6:.0f} MB table"
