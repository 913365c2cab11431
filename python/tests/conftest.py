"""Shared set-up of the Python tests: the CLI binary, the shared fixtures, and comparisons."""

import math
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures"


def fixture_path(name: str) -> pathlib.Path:
    """A shared fixture; skipped when the folder is absent, except in CI where that fails."""
    path = FIXTURES / name
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"fixture {path} is missing (CI must have ../shared/fixtures beside the clone)")
        pytest.skip(f"fixture {path} is absent: clone the project beside ../shared to run this test")
    return path


@pytest.fixture(scope="session")
def cli() -> pathlib.Path:
    """The release build of the `cateye` command line (built once if missing)."""
    binary = pathlib.Path(os.environ.get("CATEYE_BIN", ROOT / "target" / "release" / "cateye"))
    if not binary.exists():
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "cateye-cli"], cwd=ROOT, check=True)
    return binary


def run_cli(cli, *args) -> str:
    done = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, f"cateye {' '.join(map(str, args))} failed:\n{done.stderr}"
    return done.stdout


def assert_close(a, b, rel=1e-12, path="$"):
    """Equal JSON-like values: numbers to `rel` relative (NaN/None equal), the rest exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), f"{path}: keys {sorted(a.keys() ^ b.keys())} differ"
        for k in a:
            assert_close(a[k], b[k], rel, f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), f"{path}: {len(a)} items against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, rel, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or (isinstance(a, float) and math.isnan(a)):
            assert (a is None or math.isnan(a)) and (b is None or math.isnan(b)), f"{path}: {a} != {b}"
        else:
            assert math.isclose(a, b, rel_tol=rel, abs_tol=1e-300), f"{path}: {a!r} != {b!r}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """A local Spark session (2 cores, a temporary warehouse), shared by the tests that need it.
    Skipped when PySpark or Java is missing, except in CI where .ci/run installs both."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("pyspark is missing: python/requirements-dev.txt installs it")
        pytest.skip("pyspark is not installed")
    warehouse = tmp_path_factory.mktemp("spark-warehouse")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("cateye-tests")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
