"""Console entry points (pyproject's [project.scripts]): each imports its command inside a Ctrl-C guard.

Why: importing torch, Lightning and Hydra takes a second or two, and a Ctrl-C (or SIGTERM) in that time
must end like one during a run (one line, exit 130), not with a traceback: the signal is held until
the imports are done, then answered. And once a command has finished and every exit handler has run,
the process leaves without tearing its modules down (see `leave_without_teardown`). Standard library only.
"""

from __future__ import annotations

import atexit
import importlib
import os
import signal
import sys
from typing import Any, Callable, NoReturn

from excolor.errors import INTERRUPTED_EXIT, NOTHING_RUN

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def exit_interrupted(message: str = NOTHING_RUN) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(INTERRUPTED_EXIT)


_exit_status: int | None = None
"""How the finished command exits; None (it raised, or has not finished): Python's own exit."""


def exit_status(code: object) -> int:
    """The process status `sys.exit(code)` gives: None is 0, an int itself, anything else (a message) 1."""
    if code is None:
        return 0
    return code if isinstance(code, int) and not isinstance(code, bool) else 1


def leave_without_teardown() -> None:
    """Exit now with the command's status, skipping the interpreter's teardown of its modules.

    Registered before anything heavy is imported, so it runs after every other exit handler (atexit
    runs them last-in, first-out): Hydra's, W&B's, multiprocessing's and the worker pool's have all
    finished. What is left is freeing the thousands of modules torch and Lightning import, which
    took about a second per command (measured: `import lightning` then exit, 1.0 s of 3.8 s).
    """
    if _exit_status is None:
        return
    if "logging" in sys.modules:  # its handler may have been registered before this one
        sys.modules["logging"].shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be written anyway
            pass
    os._exit(_exit_status)


def _command(target: str, early: Callable[[], None] | None = None) -> Callable[[], Any]:
    """An entry point that imports `module:function` lazily and answers an interrupt during the import.
    `early` runs first, before the signals are held (a process it starts must not inherit that)."""
    module_name, _, function = target.partition(":")

    def run() -> Any:
        global _exit_status
        atexit.register(leave_without_teardown)
        if early is not None:
            early()
        # Held, not handled: some libraries swallow a KeyboardInterrupt raised inside their imports
        # (and then fail later in odd ways), so the signals wait until the imports are done.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            entry = getattr(importlib.import_module(module_name), function)
        finally:
            if signal.sigpending() & STOP_SIGNALS:
                exit_interrupted()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        try:
            result = entry()
        except SystemExit as stop:
            _exit_status = exit_status(stop.code)
            raise
        _exit_status = exit_status(result)
        return result

    return run


def _start_workers_early() -> None:
    from excolor.sweep.pool import prestart

    prestart(sys.argv[1:])


train = _command("excolor.cli.train:cli", early=_start_workers_early)
evaluate = _command("excolor.cli.evaluate:main")
report = _command("excolor.cli.report:main")
recover = _command("excolor.cli.recover:main")
validate = _command("excolor.cli.validate:main")
