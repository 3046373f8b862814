"""The scale-out guide's recipe, run as documented: the SLURM array worker script (two array tasks
as local processes) and `hydra/launcher=submitit_local`, each on one shared study."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

from tests.conftest import REPO
from tests.test_records import STUDY, check_records

QUICK = ["experiment=ex2_9_1", "sweep=pareto", "schedule.n_steps=60", "eval.hsv_cube=[24,8,8]",
         "eval.rgb_grid_size=12", "trial.seeds=[0]"]


def readme_worker_script() -> str:
    """The sbatch script exactly as docs/scale-out.md shows it."""
    text = (REPO / "docs" / "scale-out.md").read_text()
    match = re.search(r"<!-- slurm-worker -->\s*```bash\n(.*?)```", text, re.S)
    assert match, "docs/scale-out.md lost its SLURM worker script"
    return match.group(1)


def test_slurm_array_worker_script_as_two_local_tasks(tmp_path):
    script = tmp_path / "sweep-worker.sbatch"
    script.write_text(readme_worker_script())
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    env = {**os.environ, "EXCOLOR_STORAGE": storage, "WANDB_MODE": "offline",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    tasks = [subprocess.Popen(["bash", str(script), *QUICK, "sweep.total_trials=4", "hydra.sweeper.n_jobs=2"],
                              cwd=tmp_path, env={**env, "SLURM_ARRAY_TASK_ID": str(i)}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for i in range(2)]
    for task in tasks:
        out, _ = task.communicate(timeout=400)
        assert task.returncode == 0, out[-3000:]
    study = optuna.load_study(study_name=STUDY, storage=storage)
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) >= 4
    check_records(tmp_path, storage, expected_trials=len(study.trials))


def test_submitit_local_launcher_runs_one_trial_per_job(tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    result = subprocess.run([sys.executable, "-m", "excolor.cli.train", "-m", *QUICK, "hydra/launcher=submitit_local",
                             "hydra.sweeper.n_trials=2", "hydra.sweeper.n_jobs=2",
                             f"hydra.sweeper.storage='{storage}'"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=400, env={**os.environ, "WANDB_MODE": "offline"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    check_records(tmp_path, storage, expected_trials=2)
