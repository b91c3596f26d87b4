"""How an error message names a value's kind ("a string", "an array"): one wording for the
config file's TOML and the stream's JSON."""

from __future__ import annotations


def value_kind(value: object, *, mapping: str = "an object") -> str:
    """`mapping` names a dict: "an object" in JSON, "a table" in TOML."""
    if value is None:
        return "null"
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return mapping
    return type(value).__name__  # TOML dates and times
