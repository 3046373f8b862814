"""W&B identity of a sweep trial: one run per trial, grouped by study, sampled values as top-level keys."""

from excolor.tracking import build_logger, finish_logger


def test_sweep_trial_becomes_a_grouped_wandb_run(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    spec = {"_target_": "lightning.pytorch.loggers.WandbLogger", "project": "excolor", "save_dir": str(tmp_path),
            "mode": "offline"}
    trial = {"study": "pareto-ex2_9_1", "number": 7, "params": {"regularizers.anchor.weight": 0.3}}
    logger = build_logger({"logger": spec, "seed": 0}, trial)
    assert logger is not None
    init = logger._wandb_init
    assert (init["group"], init["job_type"], init["name"]) == ("pareto-ex2_9_1", "trial", "pareto-ex2_9_1-7")
    assert logger.experiment.config["regularizers.anchor.weight"] == 0.3
    assert logger.experiment.config["seed"] == 0
    finish_logger(logger, None, tmp_path)
    assert list(tmp_path.glob("wandb/offline-run-*"))
