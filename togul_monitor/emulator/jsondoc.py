"""Reading untrusted JSON (request bodies and `--state` files) into documents the emulator can
keep and answer with.

`json.loads` accepts more than the emulator can serve back: `NaN`, `Infinity` and numbers that
overflow to infinity (Starlette refuses to render them), lone surrogates such as `"\\ud800"`
(they cannot be encoded as UTF-8) and nesting deep enough to exhaust the interpreter's stack
(in the parser, in `copy.deepcopy` or in the encoder). A document that got in would fail every
answer that shows it, long after the request that stored it, so `parse` refuses all of these up
front and names the place at fault.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

#: Deeper than any real flag value; far below what the parser, deepcopy and the encoder survive.
MAX_DEPTH = 64

_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class JsonProblem(ValueError):
    """Why a document was refused; `path` names the place (`""` for the document itself)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def child_path(path: str, key: str | int) -> str:
    """`a.b`, `a[3]`, or `a["odd key"]` (ASCII only, so the path is always printable)."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _NAME.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _text_problem(text: str) -> str | None:
    if _SURROGATE.search(text):
        return "text is not valid Unicode (it holds a lone surrogate)"
    return None


def check_document(document: Any, path: str = "", max_depth: int = MAX_DEPTH) -> None:
    """Raise JsonProblem for a non-finite number, a lone surrogate (in a value or a key) or
    nesting deeper than `max_depth`. Iterative: any document is safe to check."""
    stack: list[tuple[Any, str, int]] = [(document, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                raise JsonProblem(where, problem)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise JsonProblem(where, "numbers must be finite (no NaN or Infinity)")
        elif isinstance(value, (dict, list)):
            if depth >= max_depth:
                shown = where if len(where) <= 80 else where[:80] + "..."
                raise JsonProblem(shown, f"nested more than {max_depth} levels deep")
            if isinstance(value, dict):
                for key, item in value.items():
                    if not isinstance(key, str):  # only a document built in Python has one
                        raise JsonProblem(where, "every key must be a string")
                    if _text_problem(key):
                        raise JsonProblem(where, "a key is not valid Unicode (a lone surrogate)")
                    stack.append((item, child_path(where, key), depth + 1))
            else:
                stack.extend(
                    (item, child_path(where, i), depth + 1) for i, item in enumerate(value)
                )


def parse(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse and check one document; JsonProblem (a ValueError) says what is wrong."""
    try:
        document = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise JsonProblem("", f"line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise JsonProblem("", f"nested more than {max_depth} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:  # bad encoding, an integer too long
        raise JsonProblem("", f"not valid JSON: {exc}") from None
    check_document(document, "", max_depth)
    return document
