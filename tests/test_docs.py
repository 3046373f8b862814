"""The docs say what is true: the README stays short, user-facing text names no machine paths or internal
notes, every `excolor-train` command of a bash block composes, and blocks marked `<!-- runs in tests -->`
(cheap ones: a short run, a tiny sweep) run for real instead."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from hydra.core.hydra_config import HydraConfig

from excolor.run.config import compose
from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FORBIDDEN = ("/tmp/", "issue ", "SPEC", "farm-")
RUNS_MARK = "<!-- runs in tests -->"
SKIPPED_FLAGS = {"--cfg", "-c", "-cd", "--config-dir", "-cp", "--config-path", "-cn", "--config-name"}
SWEEP_SYNTAX = re.compile(r"\b(interval|tag|range|choice|glob|sort|shuffle)\(")


def bash_blocks(path: Path, language: str = "bash") -> list[tuple[bool, str]]:
    """(marked to run, text) of every ```bash (or other `language`) block of a Markdown file."""
    blocks, lines = [], path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"```{language}":
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            marked = i > 0 and lines[i - 1].strip() == RUNS_MARK
            blocks.append((marked, "\n".join(lines[i + 1:end])))
    return blocks


def commands(block: str) -> list[str]:
    """The block's logical lines (`\\` continuations joined)."""
    return [" ".join(line.split()) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def is_sweep_value(value: str) -> bool:
    """A multirun-only value: `interval(...)`, `tag(...)`, or a comma list outside brackets."""
    flat = re.sub(r"\[[^\]]*\]|\{[^}]*\}|'[^']*'|\"[^\"]*\"", "", value)
    return bool(SWEEP_SYNTAX.search(value)) or "," in flat


def train_overrides(line: str) -> list[str] | None:
    """The overrides of an `excolor-train ...` line as Hydra receives them, or None to skip the line."""
    if not line.startswith("excolor-train") or "$" in line:
        return None
    words = shlex.split(line, comments=True)[1:]
    words = words[:next((i for i, w in enumerate(words) if w in {"&", ";", "&&", "|", "||"}), len(words))]
    if SKIPPED_FLAGS & set(words):
        return None
    return [w for w in words if w not in {"-m", "--multirun"} and not is_sweep_value(w.partition("=")[2])]


DOC_COMMANDS = [(f"{path.relative_to(REPO)}: {line}", overrides) for path in DOCS
                for marked, block in bash_blocks(path) if not marked  # marked blocks run (below)
                for line in commands(block) if (overrides := train_overrides(line)) is not None]
RUNNABLE = [(f"{path.relative_to(REPO)} block {n}", block) for path in DOCS
            for n, (marked, block) in enumerate(bash_blocks(path)) if marked]
RUNNABLE_PYTHON = [(f"{path.relative_to(REPO)} python block {n}", block) for path in DOCS
                   for n, (marked, block) in enumerate(bash_blocks(path, "python")) if marked]


def test_readme_is_short():
    assert len((REPO / "README.md").read_text().splitlines()) <= 320


def test_user_facing_text_names_no_machine_paths_or_internal_notes():
    comments = [(p, "\n".join(line for line in p.read_text().splitlines() if line.lstrip().startswith("#")))
                for p in sorted((REPO / "excolor" / "conf").rglob("*.yaml"))]
    texts = [(p, p.read_text()) for p in DOCS] + comments
    found = [f"{p.relative_to(REPO)}: {word!r}" for p, text in texts for word in FORBIDDEN if word in text]
    assert not found, found


def test_docs_have_commands_to_check():
    assert len(DOC_COMMANDS) >= 20 and RUNNABLE and RUNNABLE_PYTHON


@pytest.mark.parametrize("overrides", [o for _, o in DOC_COMMANDS], ids=[name for name, _ in DOC_COMMANDS])
def test_documented_command_composes(overrides):
    previous = HydraConfig.instance().cfg
    try:
        compose(overrides, with_hydra=True)
    finally:
        HydraConfig.instance().cfg = previous


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for _, b in RUNNABLE], ids=[name for name, _ in RUNNABLE])
def test_marked_block_runs(block, tmp_path):
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", block], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("block", [b for _, b in RUNNABLE_PYTHON], ids=[name for name, _ in RUNNABLE_PYTHON])
def test_marked_python_block_runs(block, tmp_path):
    result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True,
                            timeout=300, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
