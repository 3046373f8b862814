"""How excolor refuses input and how its commands end: one place for the error type and exit statuses.

Standard library only, so every wing (and the console entry points, before anything heavy is imported)
can use it.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A user-facing configuration mistake; the message names the key and the allowed values."""


BAD_INPUT_EXIT = 2
"""Exit status of every excolor command refusing a user's input (config, flags, a study name) before it
runs anything: argparse's own status for a bad flag."""
INTERRUPTED_EXIT = 130
"""Exit status of a command ended by Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention)."""
NOTHING_RUN = "excolor: interrupted before any run started; nothing was trained"
"""What Ctrl-C prints when it came before any run dir was marked running."""
