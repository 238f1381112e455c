"""``mypyc_attr`` for the modules that may be compiled with mypyc (``iaxsim.native``).

mypyc builds each class of a compiled module as a native class unless told otherwise;
``@mypyc_attr(native_class=False)`` keeps a class an ordinary Python class (needed for int and
tuple subclasses, and for frozen dataclasses so that they still pickle and copy). In pure Python, and
where mypy_extensions is not installed, the decorator does nothing.
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
