"""Console entry points (pyproject's [project.scripts]): each imports its command inside a Ctrl-C guard.

Why: importing torch, Lightning and Hydra takes a second or two, and a Ctrl-C (or SIGTERM) in that time
must end like one during a run (one line, exit 130), not with a traceback: the signal is held until
the imports are done, then answered. Standard library only.
"""

from __future__ import annotations

import importlib
import signal
import sys
from typing import Any, Callable, NoReturn

INTERRUPTED_EXIT = 130
"""Exit status of a command ended by Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention)."""
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
NOTHING_RUN = "excolor: interrupted before any run started; nothing was trained"


def exit_interrupted(message: str = NOTHING_RUN) -> NoReturn:
    print(message, file=sys.stderr)
    sys.exit(INTERRUPTED_EXIT)


def _command(target: str) -> Callable[[], Any]:
    """An entry point that imports `module:function` lazily and answers an interrupt during the import."""
    module_name, _, function = target.partition(":")

    def run() -> Any:
        # Held, not handled: some libraries swallow a KeyboardInterrupt raised inside their imports
        # (and then fail later in odd ways), so the signals wait until the imports are done.
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            entry = getattr(importlib.import_module(module_name), function)
        finally:
            if signal.sigpending() & STOP_SIGNALS:
                exit_interrupted()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return entry()

    return run


train = _command("excolor.train:cli")
evaluate = _command("excolor.evaluate:main")
report = _command("excolor.report:main")
recover = _command("excolor.recover:main")
validate = _command("excolor.validate:main")
