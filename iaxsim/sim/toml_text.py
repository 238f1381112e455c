"""Scenario values written as TOML text (the standard library reads TOML but does not write it)."""
from __future__ import annotations

import json
from collections.abc import Mapping


def toml_key(key: str) -> str:
    """A bare key when TOML allows one, else a quoted key."""
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def toml_value(value: object) -> str:
    """One value: booleans, numbers, strings, lists and inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(x) for x in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")
