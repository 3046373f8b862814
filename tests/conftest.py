"""Shared helpers: compose a config the way excolor-train does, and run the CLI in a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra

from excolor.run.checks import compose_config  # noqa: F401  (re-exported for the tests)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FAST = ["schedule.n_steps=150", "eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12", "outputs.plots=false",
        "logger=none"]
"""Overrides that make a run take a second or two: short schedule, coarse evaluation grids."""


def run_cli(args: list[str], cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m excolor.cli.train ARGS` in `cwd`, output captured."""
    full_env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true", **(env or {})}
    return subprocess.run([sys.executable, "-m", "excolor.cli.train", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def run_in_process(args: list[str], capfd: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    """`excolor-train ARGS` in this process (fast: no interpreter start-up): (exit code, stdout+stderr)."""
    from excolor.cli import train

    monkeypatch.setattr(sys, "argv", ["excolor-train", *args])
    try:
        train.cli()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        GlobalHydra.instance().clear()
    captured = capfd.readouterr()
    return code, captured.out + captured.err


@pytest.fixture(autouse=True)
def fresh_logging():
    """Each test starts and ends with the logging setup it found: an in-process command lets Hydra point
    handlers at pytest's captured streams, which are closed once that test ends."""
    import logging

    loggers = [logging.getLogger()] + [logging.getLogger(name) for name in ("excolor", "hydra")]
    saved = [(logger, list(logger.handlers), logger.level) for logger in loggers]
    raise_exceptions = logging.raiseExceptions
    yield
    for logger, handlers, level in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
    logging.raiseExceptions = raise_exceptions


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared (reference material) is not beside this clone")
    return SHARED


def unavailable(reason: str) -> None:
    """Skip on a developer's machine; fail in CI, where .ci/run installs every service the tests need."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres_url():
    """A throw-away PostgreSQL server from Debian's packages on a unix socket; skipped where absent."""
    import glob
    import shutil

    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    if not bins or shutil.which("runuser") is None or os.geteuid() != 0:
        unavailable("needs Debian's postgresql server (apt-get install postgresql) and root")
    import tempfile

    data = Path(tempfile.mkdtemp(prefix="excolor-pg-"))  # outside pytest's root-only tmp dirs
    shutil.chown(data, "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    try:
        subprocess.run([*as_postgres, f"{bins[-1]}/initdb", "-D", str(data), "-A", "trust"], check=True,
                       capture_output=True, timeout=120)
        subprocess.run([*as_postgres, f"{bins[-1]}/pg_ctl", "-D", str(data), "-w", "-l", str(data / "log"),
                        "-o", f"-k {data} -c listen_addresses='' -p 54329", "start"], check=True,
                       capture_output=True, timeout=60)
    except (subprocess.SubprocessError, OSError) as error:
        unavailable(f"could not start a PostgreSQL server: {error}")
    try:
        subprocess.run([*as_postgres, f"{bins[-1]}/createdb", "-h", str(data), "-p", "54329", "excolor"],
                       check=True, capture_output=True, timeout=60)
        yield f"postgresql://postgres@/excolor?host={data}&port=54329"
    finally:
        subprocess.run([*as_postgres, f"{bins[-1]}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(data, ignore_errors=True)


SLOW_MODULES = {"test_faults", "test_records", "test_scaleout", "test_install", "test_racing", "test_pool",
                "test_validate", "test_wandb", "test_sweep", "test_commands", "test_terminal", "test_saved_work",
                "test_bad_input"}
"""Modules whose tests start processes, train whole sweeps or compose the config hundreds of times (the
bad-input catalogue): all `slow`, left out of `make test-fast`."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__.rpartition(".")[2] in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
