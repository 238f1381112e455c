"""The error a dialplan question that cannot be answered raises."""
from __future__ import annotations

from iaxsim.errors import IaxsimError


class DialplanError(IaxsimError, ValueError):
    """A lookup was asked for something that cannot be answered (unknown engine, bad mode,
    a number, context or caller ID that is not a string …)."""


def type_name(value: object) -> str:
    """The type name an error message shows for ``value``."""
    return type(value).__name__
