"""Shared set-up of the Python tests: the CLI binary, the shared fixtures, and comparisons."""

import math
import os
import pathlib
import shutil
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


#: Fields compared in units of their sibling ``se``; ``z`` is already in those units.
SE_SCALED = {"estimate", "ci_low", "ci_high", "effect", "log_ratio"}


def worst_differences(a, b, path="$", worst=None, se=None):
    """The largest difference of each kind between two scan.json values, with where it is:
    ``p`` (p- and q-values, relative), ``se_units`` (estimates, interval bounds, effects and log
    ratios in units of their row's standard error, and z statistics, which are in those units
    already: a small difference of large sums, such as a bound near zero, is exact only to the
    rounding of the sums) and ``relative`` (every other number). Everything that is not a float
    (labels, counts, flags, order) must be equal."""
    worst = {} if worst is None else worst

    def note(kind, value):
        if value > worst.get(kind, (0.0, ""))[0]:
            worst[kind] = (value, path)

    if isinstance(a, dict):
        # What names or times the run, and the deep dive (none on statistics), are not compared.
        keys = [k for k in a if k not in ("input", "timings", "outputs", "seconds", "deep_dive")]
        assert isinstance(b, dict) and set(keys) == {k for k in b if k not in (
            "input", "timings", "outputs", "seconds", "deep_dive")}, f"{path}: keys differ"
        sibling_se = (a.get("se"), b.get("se")) if isinstance(a.get("se"), float) else None
        for key in keys:
            worst_differences(a[key], b[key], f"{path}.{key}", worst, sibling_se)
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {len(a)} items against {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            worst_differences(x, y, f"{path}[{i}]", worst)
    elif isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or math.isnan(a) or math.isnan(b):
            assert (a is None or math.isnan(a)) and (b is None or math.isnan(b)), f"{path}: {a} != {b}"
            return worst
        key = path.rsplit(".", 1)[-1]
        if key in ("p_value", "q_value"):
            note("p", abs(a - b) / max(abs(a), abs(b), 1e-300))
        elif key in SE_SCALED and se is not None:
            note("se_units", abs(a - b) / max(se[0], se[1], 1e-300))
        elif key == "z":
            note("se_units", abs(a - b))
        else:
            note("relative", abs(a - b) / max(abs(a), abs(b), 1e-300))
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"
    return worst


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
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        if os.environ.get("CI"):
            pytest.fail("no Java runtime for Spark: .ci/run installs openjdk-17-jre-headless")
        pytest.skip("Spark needs a Java 17 runtime (Debian's openjdk-17-jre-headless)")
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
