"""The bad-input catalogue: every case exits non-zero, before any training step, with a message
that names the offending key or value and what is allowed."""

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest

from excolor.cli import evaluate, report
from excolor.errors import BAD_INPUT_EXIT
from excolor.run import outputs
from tests.conftest import FAST, run_cli, run_in_process

SINGLE_RUN = [  # (overrides, words the message must contain)
    (["model=k9"], ["model", "k5_n2"]),                                            # unknown group option
    (["experiment=ex9"], ["experiment=ex9", "ex2_9_1_tuned"]),                      # unknown preset
    (["+experiment=ex2_8"], ["+experiment=ex2_8", "write experiment=ex2_8"]),       # the old `+` spelling
    (["model.depth=3"], ["depth"]),                                                # unknown key
    (["regularizers.anchor.weight=abc"], ["regularizers.anchor", "weight", "abc"]),  # wrong type
    (["model.width=wide"], ["model.width", "wide"]),                               # wrong type (schema)
    (["regularizers=[anchor,bogus]"], ["bogus", "anti_subspace"]),                 # unknown regularizer
    (["model.k_bottleneck=0"], ["model.k_bottleneck"]),                            # zero size
    (["data.batch_size=-1"], ["data.batch_size"]),                                 # negative size
    (["data.grid_shape=[36,10]"], ["data.grid_shape", "[hues, saturations, values]"]),
    (["data.sampler=sideways"], ["data.sampler", "weighted"]),                     # bad enum value
    (["ablation.dims=[7]"], ["ablation.dims", "0..4"]),                            # dim out of range
    (["ablation.dims=[1,1]"], ["ablation.dims", "twice"]),                         # duplicated dim
    (["ablation.layer=decoder"], ["ablation.layer", "bottleneck"]),
    (["regularizers.anchor.vector=[1,0,0]"], ["regularizers.anchor", "k_bottleneck=5"]),  # wrong length
    (["regularizers.anti_anchor.form=half"], ["regularizers.anti_anchor", "hemisphere"]),
    (["eval.concept_rgb=[1.5,0,0]"], ["concept_rgb", "[0, 1]"]),                   # colour outside [0,1]
    (["eval.target_threshold=1.5"], ["target_threshold"]),                         # T empty
    (["eval.collateral_threshold=0.0"], ["collateral_threshold"]),                 # N empty
    (["labels.concepts.red.scale=2"], ["labels.concepts.red.scale", "[0, 1]"]),
    (["trial.aggregate=best"], ["trial.aggregate", "median"]),
    (["schedule.csv=/nonexistent.csv", "schedule.keyframes=[]"], ["/nonexistent.csv"]),  # missing file
    (["+schedule.keyframes.0.bogus_reg=1"], ["bogus_reg", "lr"]),                  # unknown column
    (["schedule.keyframes.3.step=5"], ["step", "5"]),                              # non-monotonic steps
    (["schedule.keyframes.0.step=-3"], ["step", "-3"]),                            # negative step
    (['schedule.keyframes.2.step="+1.5"'], ["fraction", "(0,1)"]),                 # fraction >= 1
    (["schedule.lr_scale=0"], ["schedule.lr_scale"]),
    # numbers outside their domain or not finite (excolor/core/domains.py)
    (["regularizers.anchor.weight=nan"], ["regularizers.anchor.weight", "not finite", ">= 0"]),
    (["regularizers.anchor.weight=inf"], ["regularizers.anchor.weight", "not finite"]),
    (["regularizers.anchor.weight=-1"], ["regularizers.anchor.weight", ">= 0"]),
    (["regularizers.separate.power=0"], ["regularizers.separate.power", "> 0"]),
    (["regularizers.separate.duplicate_cosine=2"], ["regularizers.separate.duplicate_cosine", "[-1, 1]"]),
    (["regularizers.anchor.sign=nan"], ["regularizers.anchor.sign", "not finite"]),
    (["regularizers.planar_d.labels.desaturated=inf"], ["regularizers.planar_d.labels.desaturated", "not finite"]),
    (["regularizers.anchor.axis=-1"], ["regularizers.anchor.axis", ">= 0"]),
    (["regularizers.anchor.vector=[1,0,0,nan,0]"], ["regularizers.anchor.vector[3]", "not finite"]),
    (["labels.concepts.red.power=nan"], ["labels.concepts.red.power", "> 0"]),
    (["labels.concepts.red.scale=-0.1"], ["labels.concepts.red.scale", "[0, 1]"]),
    (["schedule.lr_scale=nan"], ["schedule.lr_scale", "> 0"]),
    (["schedule.lr_scale=-2"], ["schedule.lr_scale", "> 0"]),
    (["schedule.n_steps=0"], ["schedule.n_steps", ">= 2"]),
    (["schedule.n_steps=-5"], ["schedule.n_steps", ">= 2"]),
    (["schedule.keyframes.1.lr=-0.01"], ["keyframes", "row 1", "'lr'", "learning rate", ">= 0"]),
    (["schedule.keyframes.1.lr=nan"], ["schedule.keyframes[1].lr", "not finite"]),
    (["schedule.keyframes.0.anchor=-0.02"], ["keyframes", "row 0", "'anchor'", "regularizer weight"]),
    (["schedule.keyframes.3.lr=inf"], ["schedule.keyframes[3].lr", "not finite"]),
    (["trainer.max_steps=0"], ["trainer.max_steps", ">= 1"]),
    (["trainer.max_steps=-1"], ["trainer.max_steps", ">= 1"]),
    (["trainer.log_every_n_steps=0"], ["trainer.log_every_n_steps", ">= 1"]),
    (["trainer.devices=2"], ["trainer.devices", "1"]),
    (["+trainer.bogus_arg=1"], ["trainer.bogus_arg", "Lightning"]),                 # library rejects
    (["+trainer.precision=bogus"], ["trainer.precision", "Lightning"]),             # library rejects
    (["+trainer.accumulate_grad_batches=0"], ["trainer.accumulate_grad_batches", ">= 1"]),  # library divides by it
    (["trial.fail_threshold=nan"], ["trial.fail_threshold", "> 0"]),
    (["trial.fail_threshold=0"], ["trial.fail_threshold", "> 0"]),
    (["trial.seeds=[0,0]"], ["trial.seeds", "twice"]),
    (["trial.seeds=[-1]"], ["trial.seeds[0]", "0.."]),
    (["seed=5000000000"], ["seed", "0..4_294_967_295"]),                          # torch/Lightning reject
    (["eval.chunk_size=0"], ["eval.chunk_size", ">= 1"]),
    (["eval.rgb_grid_size=-4"], ["eval.rgb_grid_size", ">= 2"]),
    (["eval.hsv_cube=[0,8,8]"], ["eval.hsv_cube[0]", ">= 1"]),
    (["eval.target_threshold=nan"], ["eval.target_threshold", "[0, 1]"]),
    (["eval.concept_rgb=[nan,0,0]"], ["eval.concept_rgb[0]", "[0, 1]"]),
    (["data.grid_shape=[36,10,0]"], ["data.grid_shape[2]", ">= 2"]),
    (["data.batch_size=0"], ["data.batch_size"]),
    (["model.width=0"], ["model.width", "1.."]),
    (["model.n_hidden=-1"], ["model.n_hidden", "1.."]),
    (["sweep.total_trials=0"], ["sweep.total_trials", ">= 1"]),
    # sizes that cannot fit: refused before anything is allocated
    (["eval.hsv_cube=[100000,10000,10000]"], ["eval.hsv_cube", "lower eval.hsv_cube", "available"]),
    (["eval.rgb_grid_size=100000"], ["eval.rgb_grid_size", "lower eval.rgb_grid_size"]),
    (["schedule.n_steps=100000000000"], ["pre-drawn training batches", "lower schedule.n_steps"]),
    (["trainer.max_steps=100000000000"], ["pre-drawn training batches", "trainer.max_steps"]),
    (["data.batch_size=1000000000"], ["data.batch_size=1000000000", "lower"]),
    (["model.width=65536", "model.n_hidden=64"], ["model of 1 member", "lower model.width"]),
    # paths: refused before Hydra creates any directory
    (["name=../../escaped"], ["name='../../escaped'", "no '/'"]),
    (["name=a/b"], ["name='a/b'"]),
    (["name=.hidden"], ["name='.hidden'", "leading '.'"]),
    (["experiment=ex2_9_1_tuned", "regularizers=[separate,anchor]"],                  # a preset's weight, unselected
     ["regularizers.anti_subspace is set", "not among the selected", "regularizers=[separate,anchor,anti_subspace]"]),
    (["plugins=[nopkg.*]", "+regularizers.mine._target_=nopkg.Mine"],                 # a plug-in that does not import
     ["regularizers.mine._target_", "No module named 'nopkg'"]),
    (["plugins=[nopkg.*]", "concept.poles.red.source=nopkg.f"],                     # blamed where it was set
     ["concept.poles.red.source", "No module named 'nopkg'"]),
]


def check_rejected(code: int, message: str, words: list[str], run_dir) -> None:
    assert code != 0, message[-2000:]
    for word in words:
        assert word in message, (word, message[-2000:])
    assert "Traceback" not in message, message[-3000:]
    assert not (run_dir / "history.csv").exists()  # no training step ran
    if (run_dir / ".hydra").is_dir():  # Hydra made the run dir: it says the run was rejected, and why
        assert outputs.read_status(run_dir)["state"] == "rejected"


@pytest.mark.parametrize("override, words", SINGLE_RUN, ids=[" ".join(o) for o, _ in SINGLE_RUN])
def test_single_run_bad_input(tmp_path, capfd, monkeypatch, override, words):
    monkeypatch.chdir(tmp_path)
    code, message = run_in_process([*FAST, *override, f"hydra.run.dir={tmp_path / 'o'}"], capfd, monkeypatch)
    check_rejected(code, message, words, tmp_path / "o")


COMMAND_LINE = [  # class: the command line as users type it (Hydra's habits): typos refused, never ignored
    (["regularizer.anchor.weight=1"], ["no key 'regularizer'", "did you mean 'regularizers'"]),
    (["+regularizer.anchor.weight=1"], ["no key 'regularizer'", "did you mean 'regularizers'"]),
    (["+model.k_botleneck=6"], ["model has no key 'k_botleneck'", "did you mean 'k_bottleneck'"]),
    (["+trial.seed=[0,1]"], ["trial has no key 'seed'", "did you mean 'seeds'"]),
    (["+regularizers.anchor.wieght=2"], ["regularizers.anchor has no key 'wieght'", "did you mean 'weight'"]),
    (["regularizers.anchor.wieght=2"], ["regularizers.anchor has no key 'wieght'", "did you mean 'weight'"]),
    (["+labels.concepts.red.scael=0.1"], ["labels.concepts.red has no key 'scael'", "did you mean 'scale'"]),
    (["experiment=ex29"], ["no experiment option 'ex29'", "did you mean 'ex2_9'"]),
    (["concept=reed"], ["no concept option 'reed'", "did you mean 'red'"]),
    (["hydra.sweeper.direction=minimize"], ["hydra.sweeper.direction", "objectives="]),
    (["schedule.n_steps=abc"], ["schedule.n_steps", "abc"]),  # Hydra's own errors exit 2 too
    (["ablation.method=leaky"], ["ablation.method", "leaky", "mean_difference"]),
    (["trial.seeds=[0,1"], ["trial.seeds=[0,1"]),  # the override grammar
]


@pytest.mark.parametrize("override, words", COMMAND_LINE, ids=[" ".join(o) for o, _ in COMMAND_LINE])
def test_command_line_habits_are_refused_not_ignored(tmp_path, capfd, monkeypatch, override, words):
    monkeypatch.chdir(tmp_path)
    code, message = run_in_process([*FAST, *override, f"hydra.run.dir={tmp_path / 'o'}"], capfd, monkeypatch)
    check_rejected(code, message, words, tmp_path / "o")
    assert code == BAD_INPUT_EXIT and message.count("configuration error") == 1, message[-2000:]


@pytest.mark.slow
@pytest.mark.parametrize("override, words", [SINGLE_RUN[2], SINGLE_RUN[4], SINGLE_RUN[12]])
def test_bad_input_exit_status_of_the_real_command(tmp_path, override, words):
    """The same checks through a real `excolor-train` process, as a user meets them."""
    result = run_cli([*FAST, *override, f"hydra.run.dir={tmp_path / 'o'}"], cwd=tmp_path, timeout=90)
    check_rejected(result.returncode, result.stdout + result.stderr, words, tmp_path / "o")


def test_run_name_cannot_leave_outputs(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path / "..")
    (tmp_path / "w").mkdir()
    monkeypatch.chdir(tmp_path / "w")
    code, message = run_in_process([*FAST, "name=../../escaped"], capfd, monkeypatch)
    check_rejected(code, message, ["name="], tmp_path / "w" / "outputs")
    assert not (tmp_path / "escaped").exists() and not (tmp_path.parent / "escaped").exists()
    assert not (tmp_path / "w" / "outputs").exists()


FILES = [  # (file content, words): a schedule.csv that is not what it claims
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe binary", ["bad.csv", "not a readable CSV"]),
    (b"STEP,lr\n0,0.01\n100,-0.1\n", ["bad.csv", "row 1", "'lr'", ">= 0"]),
    (b"STEP,lr\n0,0.01\n100,nan\n", ["bad.csv", "row 1", "'lr'", "not finite"]),
    (b"STEP,lr,anchor\n0,0.01,inf\n100,0.1,\n", ["bad.csv", "row 0", "'anchor'", "not finite"]),
    (b"STEP,lr\n0,0.01\n100000000000,0.1\n", ["pre-drawn training batches", "lower schedule.n_steps"]),
    (b"", ["bad.csv", "empty"]),
]


@pytest.mark.parametrize("content, words", FILES, ids=[w[-1] + str(i) for i, (_, w) in enumerate(FILES)])
def test_schedule_file_not_what_it_claims(tmp_path, capfd, monkeypatch, content, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_bytes(content)
    fast = [o for o in FAST if not o.startswith("schedule.n_steps")]
    code, message = run_in_process([*fast, "schedule.csv=bad.csv", "schedule.keyframes=[]",
                                    f"hydra.run.dir={tmp_path / 'o'}"], capfd, monkeypatch)
    check_rejected(code, message, words, tmp_path / "o")


@pytest.mark.parametrize("make_dir, words", [
    (lambda tmp: str(tmp / "afile" / "run"), ["hydra.run.dir", "is a file"]),
    (lambda tmp: "/proc/excolor-run", ["hydra.run.dir", "cannot create"]),
])
def test_unwritable_run_dir_is_refused_before_training(tmp_path, capfd, monkeypatch, make_dir, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a directory")
    code, message = run_in_process([*FAST, f"hydra.run.dir={make_dir(tmp_path)}"], capfd, monkeypatch)
    check_rejected(code, message, words, tmp_path / "o")


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """One finished run (a few seconds) for the excolor-eval cases."""
    root = tmp_path_factory.mktemp("trained")
    result = run_cli([*FAST, f"hydra.run.dir={root / 'run'}"], cwd=root, timeout=200)
    assert result.returncode == 0, result.stderr[-2000:]
    return root / "run"


def copied_run(trained_run, tmp_path):
    import shutil

    shutil.copytree(trained_run, tmp_path / "run")
    return tmp_path / "run"


EVAL_CASES = [  # (overrides, damage to a copy of the run, words)
    (["model.width=32"], None, ["model.width", "can change only"]),                # would need retraining
    (["schedule.n_steps=10"], None, ["schedule.n_steps", "can change only"]),      # silently ignored before
    (["regularizers.anchor.weight=2"], None, ["regularizers.anchor.weight", "can change only"]),
    (["oops"], None, ["'oops'", "KEY=VALUE"]),
    (["eval.rgb_grid_size=0"], None, ["eval.rgb_grid_size", ">= 2"]),
    (["eval.hsv_cube=[100000,10000,10000]"], None, ["eval.hsv_cube", "lower"]),
    (["ablation.dims=[9]"], None, ["ablation.dims", "0..4"]),
    (["eval.bogus=1"], None, ["eval.bogus"]),
    ([], ("model.pt", b"this is not a torch file"), ["model.pt", "not weights"]),
    ([], ("model.pt", b""), ["model.pt", "not weights"]),
    ([], (".hydra/config.yaml", b"{{{ not: yaml: [\n"), [".hydra/config.yaml", "not a run's saved config"]),
    ([], (".hydra/config.yaml", b"- a list\n- not a config\n"), ["config.yaml", "not a run's saved config"]),
    ([], (".hydra/config.yaml", b"model: {width: nan}\n"), ["config.yaml", "no eval"]),
    (["eval.target_threshold=nan"], None, ["eval.target_threshold", "[0, 1]"]),
    ([], (".hydra/config.yaml", b""), ["config.yaml", "no model"]),
]


@pytest.mark.slow
@pytest.mark.parametrize("overrides, damage, words", EVAL_CASES, ids=[str(i) for i in range(len(EVAL_CASES))])
def test_eval_bad_input(trained_run, tmp_path, capfd, overrides, damage, words):
    run = copied_run(trained_run, tmp_path) if damage else trained_run
    if damage:
        (run / damage[0]).write_bytes(damage[1])
    before = sorted(p.name for p in run.rglob("*"))
    code = evaluate.main([str(run), *overrides])
    message = "".join(capfd.readouterr())
    check_rejected(code, message, words, tmp_path / "none")
    assert sorted(p.name for p in run.rglob("*")) == before  # a read-only command wrote nothing


@pytest.mark.slow
def test_eval_out_unwritable(trained_run, tmp_path, capfd):
    (tmp_path / "afile").write_text("x")
    code = evaluate.main([str(trained_run), "--out", str(tmp_path / "afile" / "m.json")])
    message = "".join(capfd.readouterr())
    check_rejected(code, message, ["--out", "afile", "is a file"], tmp_path / "none")
    assert "mse before" not in message, "refused only after evaluating"


@pytest.mark.parametrize("args, words", [
    (["--storage", "sqlite:///new.db"], ["new.db", "creates none"]),
    (["--storage", "sqlite:///empty.db"], ["empty.db", "empty"]),
    (["--storage", "bogus://nowhere"], ["--storage", "bogus://nowhere"]),
    (["--storage", "sqlite:///notadb.db"], ["--storage", "notadb.db"]),
    (["--storage", "sqlite:///new.db", "--top", "0"], ["new.db"]),
    (["--top", "-3", "--storage", "sqlite:///notadb.db"], ["--top -3", ">= 1"]),
])
def test_report_bad_input_creates_nothing(tmp_path, capfd, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "notadb.db").write_bytes(b"plain text, not sqlite" * 20)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    code = report.main(args)
    check_rejected(code, "".join(capfd.readouterr()), words, tmp_path / "none")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing created or changed


SWEEP = ["-m", "experiment=ex2_9_1", "sweep=pareto", "schedule.n_steps=120", "eval.hsv_cube=[24,8,8]",
         "eval.rgb_grid_size=12"]


@pytest.mark.slow
@pytest.mark.parametrize("override, words", [
    ("hydra.sweeper.n_jobs=0", ["hydra.sweeper.n_jobs", ">= 1"]),                # used to spin forever
    ("sweep.total_trials=-1", ["sweep.total_trials", ">= 1"]),
    ("regularizers.anchor.weight=nan", ["regularizers.anchor.weight", "not finite"]),
    ("schedule.keyframes.1.lr=-0.01", ["row 1", "'lr'", ">= 0"]),
])
def test_sweep_bad_input_fails_before_the_study_opens(tmp_path, override, words):
    args = [*SWEEP, f"hydra.sweeper.storage=sqlite:///{tmp_path / 'optuna.db'}", f"hydra.sweep.dir={tmp_path / 'm'}",
            "hydra.sweeper.n_trials=2", override]
    result = run_cli(args, cwd=tmp_path, timeout=120)
    message = result.stdout + result.stderr
    check_rejected(result.returncode, message, words, tmp_path / "m" / "0")
    assert "[excolor] trial" not in message
    assert not (tmp_path / "optuna.db").exists()  # no study was created


@pytest.mark.slow
def test_ctrl_c_marks_the_run_interrupted(tmp_path):
    """Ctrl-C mid-training: one line naming the partial run dir, status.json says interrupted, exit 130."""
    run_dir = tmp_path / "o"
    args = [sys.executable, "-m", "excolor.cli.train", *FAST, "schedule.n_steps=50000", f"hydra.run.dir={run_dir}"]
    worker = subprocess.Popen(args, cwd=tmp_path, env={**os.environ, "WANDB_MODE": "offline"}, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120
    while not (run_dir / outputs.STATUS_FILE).exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)
    worker.send_signal(signal.SIGINT)
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 130, out[-2000:]
    assert f"partial run is in {run_dir}" in out and "Traceback" not in out
    assert outputs.read_status(run_dir)["state"] == "interrupted"
    assert not (run_dir / "metrics.json").exists()


def test_finished_run_files_are_0644_and_status_done(tmp_path, capfd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, message = run_in_process([*FAST, f"hydra.run.dir={tmp_path / 'o'}"], capfd, monkeypatch)
    assert code == 0, message[-2000:]
    assert outputs.read_status(tmp_path / "o")["state"] == "done"
    for name in ("metrics.json", "model.pt", "history.csv", "status.json"):
        assert (tmp_path / "o" / name).stat().st_mode & 0o777 == 0o666 & ~_umask(), name


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_while_starting_is_one_line_not_a_traceback(tmp_path, signum):
    """Ctrl-C (or SIGTERM) during the second or two of imports, as the console script runs them."""
    from excolor.errors import INTERRUPTED_EXIT, NOTHING_RUN

    script = "import sys; from excolor.cli.entry_points import train; sys.exit(train())"
    worker = subprocess.Popen([sys.executable, "-c", script, *FAST], cwd=tmp_path, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(0.4)  # python is up, torch/Lightning/Hydra are still importing (a signal there once got swallowed)
    worker.send_signal(signum)
    out, _ = worker.communicate(timeout=60)
    assert worker.returncode == INTERRUPTED_EXIT and "Traceback" not in out, out[-2000:]
    assert out.strip() == NOTHING_RUN


# --- A sweep's lifecycle: inputs that used to leave trials RUNNING, crash after a trial was asked, write
# where they should not, or mix incomparable trials. Each is refused before the study is opened (or, for a
# study that exists, before anything is asked), exit 2, one paragraph.

IN_PROCESS_SWEEP = ["experiment=ex2_9_1", "sweep=pareto", "hydra.sweeper.n_trials=2", *FAST]
STUDY = "pareto-ex2_9_1"


def sweep_refused(tmp_path, capfd, monkeypatch, overrides: list[str], words: list[str], study: str | None = None):
    """Run the sweep in this process; it must exit 2 before asking a trial (no new trial in the study)."""
    monkeypatch.chdir(tmp_path)
    storage = tmp_path / "optuna.db"
    before = len(optuna.load_study(study_name=study, storage=f"sqlite:///{storage}").trials) if study else 0
    code, message = run_in_process([*IN_PROCESS_SWEEP, f"hydra.sweeper.storage=sqlite:///{storage}", *overrides],
                                   capfd, monkeypatch)
    check_rejected(code, message, words, tmp_path / "multirun" / "none")
    assert code == 2 and "[excolor] trial" not in message, message[-2000:]
    if study:
        assert len(optuna.load_study(study_name=study, storage=f"sqlite:///{storage}").trials) == before
    return message


STUDY_NAMES = [  # class: study names checked like run names, before the study is opened
    ("../escaped", ["hydra.sweeper.study_name='../escaped'", "no '/'"]),
    ("a/b", ["hydra.sweeper.study_name='a/b'"]),
    (".hidden", ["leading '.'"]),
    ("'rot-grün'", ["hydra.sweeper.study_name='rot-grün'", "ASCII"]),
    ("rot-grün", ["rot-grün", "parsing"]),                                       # Hydra's grammar refuses it
    ("'bad[1]'", ["bad[1]", "ASCII letters"]),
    ("'with space'", ["with space"]),
    ("x" * 300, ["up to 120"]),
    ("'a;rm -rf'", ["a;rm -rf"]),
]


@pytest.mark.parametrize("name, words", STUDY_NAMES, ids=[n[:20] for n, _ in STUDY_NAMES])
def test_a_study_name_that_cannot_name_a_directory_is_refused(tmp_path, capfd, monkeypatch, name, words):
    sweep_refused(tmp_path, capfd, monkeypatch, [f"hydra.sweeper.study_name={name}"], words)
    assert not list(tmp_path.rglob("trial.json"))  # nothing written anywhere


WORKER_SETTINGS = [  # class: heartbeat, grace and processes checked against each other and the machine
    (["sweep.heartbeat_s=0"], ["sweep.heartbeat_s=0", "> 0"]),                    # used to spin
    (["sweep.heartbeat_s=-5"], ["sweep.heartbeat_s=-5", "> 0"]),
    (["sweep.heartbeat_s=nan"], ["sweep.heartbeat_s", "not finite"]),
    (["sweep.grace_s=0"], ["sweep.grace_s=0", "> 0"]),                             # failed live workers' trials
    (["sweep.heartbeat_s=20", "sweep.grace_s=30"], ["sweep.grace_s=30", "twice", "sweep.heartbeat_s=20"]),
    (["hydra/launcher=batched", "hydra.launcher.processes=1000"], ["hydra.launcher.processes=1000", "CPUs"]),
    (["hydra/launcher=batched", "hydra.launcher.processes=0"], ["hydra.launcher.processes=0", ">= 1"]),
    (["hydra/launcher=batched", "hydra.launcher.race_seeds=0"], ["hydra.launcher.race_seeds=0", ">= 1"]),
    (["sweep.total_trials=0"], ["sweep.total_trials", ">= 1"]),
    (["hydra.sweeper.n_jobs=-2"], ["hydra.sweeper.n_jobs", ">= 1"]),
    (["hydra.sweeper.max_failure_rate=1.5"], ["hydra.sweeper.max_failure_rate", "[0, 1]"]),
]


@pytest.mark.parametrize("overrides, words", WORKER_SETTINGS, ids=[" ".join(o) for o, _ in WORKER_SETTINGS])
def test_worker_settings_are_checked_before_the_study_opens(tmp_path, capfd, monkeypatch, overrides, words):
    sweep_refused(tmp_path, capfd, monkeypatch, overrides, words)
    assert not (tmp_path / "optuna.db").exists()


DEPENDENCIES = [  # class: optional packages a sampler or storage imports only when it first samples
    (["hydra/sweeper/sampler=batch_gp"], ["scipy", "pip install -e '.[gp]'"]),
    (["hydra.sweeper.storage='postgresql://u:secret@localhost/db'"], ["PostgreSQL", "pip install -e '.[postgres]'"]),
    (["hydra.sweeper.sampler._target_=optuna.samplers.CmaEsSampler"], ["cmaes", "pip install cmaes"]),
]


@pytest.mark.parametrize("overrides, words", DEPENDENCIES, ids=[o[0][:40] for o, _ in DEPENDENCIES])
def test_a_missing_optional_package_is_named_with_its_install_command(tmp_path, capfd, monkeypatch, overrides,
                                                                       words):
    from excolor.sweep import preflight

    monkeypatch.setattr(preflight, "installed", lambda module: False)
    message = sweep_refused(tmp_path, capfd, monkeypatch, overrides, words)
    assert "secret" not in message


@pytest.fixture
def existing_study(tmp_path, capfd, monkeypatch):
    """A 2-trial study made by the sweep that the cases below would continue."""
    monkeypatch.chdir(tmp_path)
    code, message = run_in_process([*IN_PROCESS_SWEEP, f"hydra.sweeper.storage=sqlite:///{tmp_path / 'optuna.db'}"],
                                   capfd, monkeypatch)
    assert code == 0, message[-2000:]
    return STUDY


RESUMED = [  # class: a study resumed with settings that would mix incomparable trials on one front
    (["schedule.n_steps=200"], ["n_steps: 150 -> 200", "sweep.mix=true"]),
    (["trial.seeds=[0,1]"], ["seeds: [0] -> [0, 1]"]),
    (["regularizers=[separate,anchor,anti_subspace]"], ["space: -regularizers.anti_anchor.weight"]),
    (["sweep.weight_range=[0.1,10]"], ["space: regularizers.separate.weight changed"]),
    (["concept=red", "objectives=graded", "hydra.sweeper.study_name=pareto-ex2_9_1"], ["study 'pareto-ex2_9_1'"]),
    (["name=other", "hydra.sweeper.study_name=pareto-ex2_9_1"], ["experiment: 'ex2_9_1' -> 'other'"]),
    (["objectives=pareto", "+objectives.selectivity=maximize"], ["study 'pareto-ex2_9_1'"]),
]


@pytest.mark.parametrize("overrides, words", RESUMED, ids=[" ".join(o)[:40] for o, _ in RESUMED])
def test_a_study_resumed_with_other_settings_is_refused(existing_study, tmp_path, capfd, monkeypatch, overrides,
                                                        words):
    sweep_refused(tmp_path, capfd, monkeypatch, overrides, words, study=existing_study)


def test_mixing_settings_on_purpose_says_what_differs(existing_study, tmp_path, capfd, monkeypatch):
    code, message = run_in_process([*IN_PROCESS_SWEEP, f"hydra.sweeper.storage=sqlite:///{tmp_path / 'optuna.db'}",
                                    "schedule.n_steps=160", "sweep.mix=true"], capfd, monkeypatch)
    assert code == 0 and "continuing study 'pareto-ex2_9_1' with other settings" in message, message[-2000:]
    assert "n_steps: 150 -> 160" in message


def test_output_dirs_from_a_preset_are_checked_before_hydra_creates_them(tmp_path, capfd, monkeypatch):
    """The same paths that the command line refuses, set by a preset in the user config dir instead."""
    (tmp_path / "afile").write_text("x")
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    (tmp_path / "conf" / "experiment" / "bad.yaml").write_text(
        "# @package _global_\ndefaults:\n  - ex2_9_1\nhydra:\n  run:\n    dir: afile/run\n  sweep:\n    dir: afile/sweep\n")
    monkeypatch.setenv("EXCOLOR_CONFIG_DIR", str(tmp_path / "conf"))
    monkeypatch.chdir(tmp_path)
    for extra, key in (([], "hydra.run.dir"), (["sweep=pareto"], "hydra.sweep.dir")):
        code, message = run_in_process(["experiment=bad", *extra, *FAST], capfd, monkeypatch)
        check_rejected(code, message, [key, "afile", "is a file"], tmp_path / "none")
        assert code == 2


VALIDATE = [  # class: excolor-validate's writes and storage, checked before it trains
    (["--out", "afile/v"], ["--out=afile/v", "is a file"]),
    (["--trials", "0", "--export", "p1", "--export-dir", "afile/presets"], ["--export-dir=afile/presets", "is a file"]),
    (["--seeds", "1-2000000000"], ["--seeds", "more than 1000"]),                   # built a 2e9-element list
    (["--seeds", "0-1"], ["--seeds", "overlap: [0]"]),
    (["--seeds", "20-10"], ["--seeds", "LOW-HIGH"]),
    (["--trials", "99"], ["--trials", "no trial [99]"]),
    (["--study", "nope"], ["--study 'nope'", "pareto-ex2_9_1"]),
    (["--top", "0"], ["--top 0"]),
]


@pytest.mark.parametrize("args, words", VALIDATE, ids=[" ".join(a)[:40] for a, _ in VALIDATE])
def test_validate_refuses_before_training(existing_study, tmp_path, capfd, monkeypatch, args, words):
    from excolor.cli import validate

    (tmp_path / "afile").write_text("x")
    given = dict(zip(args[::2], args[1::2]))
    argv = ["--storage", f"sqlite:///{tmp_path / 'optuna.db'}", "--study", given.pop("--study", STUDY),
            *[x for kv in given.items() for x in kv]]
    capfd.readouterr()
    code = validate.main(argv)
    check_rejected(code, "".join(capfd.readouterr()), words, tmp_path / "none")
    assert not list(tmp_path.glob("multirun/validate*/*/*/metrics.json"))


def test_validate_on_a_read_only_storage_refuses_before_training(existing_study, tmp_path, capfd, monkeypatch):
    from excolor.cli import validate

    if os.geteuid() == 0:  # root writes through file modes: make the database's folder a read-only mount
        pytest.skip("root ignores file modes; covered by check_writable's own write")
    database = tmp_path / "optuna.db"
    database.chmod(0o444)
    code = validate.main(["--storage", f"sqlite:///{database}", "--study", STUDY, "--seeds", "10-11"])
    check_rejected(code, "".join(capfd.readouterr()), ["cannot be written", "--storage"], tmp_path / "none")


STORAGE_ERRORS = [  # class: storage failures name their cause; no password is printed; nothing is created
    ("postgresql://u:secret@127.0.0.1:1/none", ["--storage", "***", "refused"]),
    ("sqlite:///notadb.db", ["file is not a database"]),
    ("sqlite:///empty.db", ["empty, not an Optuna storage"]),
    ("sqlite:///tables.db", ["no such table"]),
    ("sqlite:///missing.db", ["no such database file", "creates none"]),
    ("bogus://nowhere", ["bogus://nowhere"]),
]


@pytest.mark.parametrize("command", ["report", "validate", "recover"])
@pytest.mark.parametrize("url, words", STORAGE_ERRORS, ids=[u.split(":")[0] + u[-12:] for u, _ in STORAGE_ERRORS])
def test_storage_errors_name_their_cause_and_hide_passwords(tmp_path, capfd, monkeypatch, command, url, words):
    import importlib
    import sqlite3

    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "notadb.db").write_bytes(b"plain text, not sqlite" * 20)
    sqlite3.connect(tmp_path / "tables.db").execute("create table other (x int)").connection.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    module = importlib.import_module(f"excolor.cli.{command}")
    code = module.main(["--storage", url, "--study", "s"])
    message = "".join(capfd.readouterr())
    check_rejected(code, message, words, tmp_path / "none")
    assert "secret" not in message and "invalid data in the commit" not in message
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # nothing created or changed
