"""Error types shared by every iaxsim package.

Every error iaxsim raises for bad input derives from :class:`IaxsimError`, so the
CLI can print it as one clear line instead of a traceback.
"""
from __future__ import annotations


class IaxsimError(Exception):
    """Base class for all errors iaxsim raises on bad input."""


class ConfigError(IaxsimError, ValueError):
    """A configuration file (dialplan, plan CSV, scenario TOML) is malformed.

    ``path`` and ``line`` name the place; ``str(err)`` reads ``path:line: message``.
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        elif line is not None:
            where = f"line {line}: "
        super().__init__(where + message)


class PlanWarning(UserWarning):
    """A numbering-plan problem a simulation runs past but a planner must hear of (a number
    owned by more than one server)."""
