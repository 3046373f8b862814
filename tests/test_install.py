"""The built wheel, installed non-editable in an isolated environment, runs from an empty directory:
the configs ship inside the package."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.conftest import FAST, REPO


def test_wheel_runs_a_single_run_and_a_sweep_from_an_empty_directory(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(wheels), str(REPO)], check=True, capture_output=True, timeout=300)
    [wheel] = wheels.glob("excolor-*.whl")
    env_dir = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the dependencies (torch, hydra, ...) come from this environment's site-packages as a plain path entry:
    # its .pth files (the editable excolor among them) are not processed there, so only the wheel provides excolor
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300)
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(WANDB_MODE="offline", PATH=f"{env_dir / 'bin'}:{env.get('PATH', '')}")
    where = subprocess.run([python, "-c", "import excolor; print(excolor.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site)), where  # not the source tree

    single = subprocess.run([env_dir / "bin" / "excolor-train", *FAST], cwd=work, env=env, capture_output=True,
                            text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]
    assert list(work.glob("outputs/*/*/metrics.json"))

    sweep = subprocess.run([env_dir / "bin" / "excolor-train", "-m", "experiment=ex2_9_1", "sweep=pareto",
                            "hydra.sweeper.n_trials=1", *FAST], cwd=work, env=env, capture_output=True, text=True,
                           timeout=300)
    assert sweep.returncode == 0, sweep.stdout[-2000:] + sweep.stderr[-3000:]
    assert (work / "multirun" / "pareto-ex2_9_1" / "0" / "metrics.json").is_file()
