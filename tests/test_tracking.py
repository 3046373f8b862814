"""W&B identity of a sweep trial: one run per trial, grouped by study, sampled values as flat typed keys."""

from excolor.run.tracking import SweepTrial, build_logger, finish_logger


def test_sweep_trial_becomes_a_grouped_wandb_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    spec = {"_target_": "lightning.pytorch.loggers.WandbLogger", "project": "excolor", "save_dir": str(tmp_path),
            "mode": "offline", "settings": {"silent": True}}
    trial = SweepTrial("pareto-ex2_9_1", 7, ("regularizers.anchor.weight",), "pareto", "ex2_9_1")
    resolved = {"logger": spec, "seed": 0, "trial": {"seeds": [0, 1]}, "regularizers": {"anchor": {"weight": 0.3}}}
    logger = build_logger(resolved, trial)
    assert logger is not None
    run = logger.experiment
    assert (run.group, run.job_type, run.name, run.id) == ("pareto-ex2_9_1", "trial", "pareto-ex2_9_1-7",
                                                           "pareto-ex2_9_1-7")
    assert list(run.tags) == ["study:pareto-ex2_9_1", "sweep:pareto", "experiment:ex2_9_1"]
    config = run.config
    assert config["sampled/regularizers.anchor.weight"] == 0.3
    assert config["trial"] == {"seeds": [0, 1]} and config["logger"]["project"] == "excolor"  # nothing replaced
    assert config["seed"] == 0
    finish_logger(logger, None, tmp_path)
    assert list(tmp_path.glob("wandb/offline-run-*"))
