"""A member trained in a stack is bit-identical to the same member trained alone (issue 13).

Training runs on one torch thread, so every kernel sums a member's numbers in the same order
whatever the number of stacked members; the metrics must therefore be exactly equal, not close.
"""

from __future__ import annotations

import pytest
import torch

from excolor.run.trials import run_trials
from tests.conftest import compose_config

COARSE = ["eval.hsv_cube=[24,8,8]", "eval.rgb_grid_size=12", "outputs.plots=false", "logger=none"]
KEYS = ("recon_mse", "red_mse", "collateral_mse", "median_mse", "max_mse")


@pytest.mark.parametrize("steps,batch_size", [(40, 16), pytest.param(120, 64, marks=pytest.mark.slow),
                                              pytest.param(300, 32, marks=pytest.mark.slow)])
def test_stacked_members_equal_lone_runs_exactly(steps, batch_size):
    shape = [*COARSE, "experiment=ex2_9_1", f"schedule.n_steps={steps}", f"data.batch_size={batch_size}"]
    overrides = [[*shape, "regularizers.anchor.weight=0.5", "trial.seeds=[0,1]"],
                 [*shape, "regularizers.separate.weight=3.0", "regularizers.anti_anchor.weight=7", "seed=4"]]
    configs = [compose_config(o) for o in overrides]
    stacked = run_trials(configs)
    threads = torch.get_num_threads()
    for config, batched in zip(configs, stacked):
        for seed_result in batched.seeds:
            alone_config = compose_config([*overrides[configs.index(config)], "trial.seeds=null",
                                           f"seed={seed_result.seed}"])
            [alone] = run_trials([alone_config])
            for key in KEYS:
                assert seed_result.report.metrics[key] == alone.seeds[0].report.metrics[key], (key, seed_result.seed)
    assert torch.get_num_threads() == threads  # the fit restores the caller's thread count
