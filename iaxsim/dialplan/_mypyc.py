"""``mypyc_attr`` for the dialplan modules, which may be compiled with mypyc.

A class of a compiled module becomes a native class unless marked
``@mypyc_attr(native_class=False)``: needed where a native class would behave differently
(a frozen dataclass would no longer pickle or copy). In pure Python, and where
mypy_extensions is not installed, the decorator does nothing.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

_C = TypeVar("_C")

try:
    from mypy_extensions import mypyc_attr
except ImportError:  # pragma: no cover - without mypy_extensions nothing is compiled
    def mypyc_attr(*attrs: str, **kwattrs: Any) -> Callable[[_C], _C]:  # type: ignore[misc]
        """No-op stand-in for ``mypy_extensions.mypyc_attr``."""
        return lambda cls: cls

__all__ = ["mypyc_attr"]
