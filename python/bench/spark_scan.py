"""cateye.spark.scan against the single-machine scan and Spark's own aggregation, side by side.

On one Parquet file of `cateye bench scan` (--rows rows of 20 experiments, 10 metrics m0..m9
with pre-period columns, 10 dimensions d0..d9), run back to back, best of --repeat:

* ``cateye scan FILE --deep-dive none`` (the command line, all cores);
* ``cateye.spark.scan(spark.read.parquet(FILE), deep_dive="none")`` in ``local[N]``;
* Spark's ``GROUPING SETS`` aggregation of count, sum and sum of squares of every metric for
  every experiment x variant x dimension level (the baseline: what Spark alone does in one pass);

and, to see where the Spark scan's time goes, the same ``mapInArrow`` pass without cateye (Spark
reading and handing the rows to Python as Arrow) and the executors' seconds inside cateye's
reduction. Prints the per-core throughput of the reduction and what it projects
for a cluster. Run: .venv/bin/python python/bench/spark_scan.py --rows 20000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=20_000_000)
parser.add_argument("--repeat", type=int, default=2)
parser.add_argument("--cores", type=int, default=os.cpu_count())
parser.add_argument("--dir", default=str(ROOT / "target" / "bench-duckdb"))
parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "cateye"))
args = parser.parse_args()

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
import pyarrow as pa  # noqa: E402
from pyspark.sql import SparkSession  # noqa: E402

import cateye  # noqa: E402
import cateye.spark  # noqa: E402

METRICS = [f"m{i}" for i in range(10)]
DIMENSIONS = [f"d{i}" for i in range(10)]
work = Path(args.dir)
work.mkdir(parents=True, exist_ok=True)
file = work / f"bench_{args.rows}x10x10.parquet"
if not file.exists():
    print(f"generating {file} with `cateye bench scan`", flush=True)
    subprocess.run([args.binary, "bench", "scan", "--rows", str(args.rows), "--repeat", "1", "--dir", str(work)],
                   check=True, stdout=subprocess.DEVNULL)
print(f"file: {file} ({file.stat().st_size / 1e6:.0f} MB, {args.rows:,} rows); local[{args.cores}]", flush=True)


def best(run):
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


out = work / "spark-bench-out"
single = best(lambda: subprocess.run(
    [args.binary, "scan", str(file), "--metrics", ",".join(METRICS), "--dimensions", ",".join(DIMENSIONS),
     "--deep-dive", "none", "--quiet", "--out", str(out)], check=True))
print(f"cateye scan (single machine, CLI):      {single:7.2f} s", flush=True)

spark = (SparkSession.builder.master(f"local[{args.cores}]").config("spark.ui.enabled", "false")
         .config("spark.driver.memory", "8g").config("spark.ui.showConsoleProgress", "false").config("spark.sql.shuffle.partitions", str(args.cores))
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
df = spark.read.parquet(str(file))
partitions = df.rdd.getNumPartitions()

distributed = best(lambda: cateye.spark.scan(df, metrics=METRICS, dimensions=DIMENSIONS, deep_dive="none"))
print(f"cateye.spark.scan (local[{args.cores}], {partitions} partitions): {distributed:7.2f} s", flush=True)

config = cateye._scan._config(dict(metrics=METRICS, dimensions=DIMENSIONS), "none")


def arrow_only(batches):
    """What Spark does for the scan without cateye: read, and hand the rows to Python as Arrow."""
    rows = sum(b.num_rows for b in batches)
    yield pa.RecordBatch.from_pydict({"rows": [rows]})


def reduction_timed(batches):
    """The scan's executor work, timed around cateye's reduction."""
    batches = [b for b in batches if b.num_rows > 0]
    if not batches:
        return
    table = pa.Table.from_batches(batches)
    start = time.perf_counter()
    cateye._cateye.suff_stats(table, config, "partition", 1)
    yield pa.RecordBatch.from_pydict({"seconds": [time.perf_counter() - start], "rows": [table.num_rows]})


transfer = best(lambda: df.mapInArrow(arrow_only, "rows long").collect())
print(f"Spark reading and handing rows to Python as Arrow (no cateye): {transfer:7.2f} s", flush=True)
timed_rows = df.mapInArrow(reduction_timed, "seconds double, rows long").collect()
reduction = sum(r["seconds"] for r in timed_rows)
assert sum(r["rows"] for r in timed_rows) == args.rows
print(f"cateye's reduction inside the executors: {reduction:.2f} core-s over {len(timed_rows)} partitions", flush=True)

df.createOrReplaceTempView("units")
sums = ", ".join(f"count({m}) AS n_{m}, sum({m}) AS s_{m}, sum({m} * {m}) AS q_{m}" for m in METRICS)
sets = ", ".join(f"(experiment, variant, {d})" for d in DIMENSIONS)
query = f"SELECT experiment, variant, {', '.join(DIMENSIONS)}, count(*) AS units, {sums} FROM units " \
        f"GROUP BY GROUPING SETS ({sets})"
baseline = best(lambda: spark.sql(query).collect())
print(f"Spark GROUPING SETS count/sum/sum of squares: {baseline:7.2f} s", flush=True)

per_core = args.rows / reduction
print(f"\nspark scan / single-machine scan: {distributed / single:.1f}x; spark scan / Spark's own aggregation: "
      f"{distributed / baseline:.2f}x")
print(f"cateye's reduction: {per_core / 1e6:.1f} M rows per core-second (10 metrics x 10 dimensions); of the Spark "
      f"scan's {distributed:.1f} s, {transfer:.1f} s is Spark reading and moving rows to Python, "
      f"{reduction / args.cores:.1f} s (wall, {args.cores} cores) cateye's reduction")
cluster_rows, executors, cores = 10e9, 100, 4
print(f"projection: {cluster_rows:.0e} rows on {executors} executors x {cores} cores: the reduction takes "
      f"{cluster_rows / (per_core * executors * cores):.0f} s; at this run's Spark overhead per row, the job takes "
      f"{distributed * cluster_rows / args.rows / (executors * cores / args.cores):.0f} s")
spark.stop()
