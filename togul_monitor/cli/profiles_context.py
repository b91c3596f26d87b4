"""The named-context options of `profiles add` and `profiles edit`, and how contexts are shown.

`--context-set NAME KEY=VALUE[,KEY=VALUE...]` (repeatable) sets the context NAME to exactly
those attributes: two words, so a context's name can never be mistaken for an attribute; `""`
as the second sets an empty context. The second word may also be a JSON object of strings,
`{"segments": "a,b"}`: the way to give a value holding a comma, which the pairs cannot say; it is
told by its `{`, which no pair list needs to start with. `--context-remove NAME` (repeatable,
`edit` only) removes one. A name or a pair that cannot be right is a usage error (exit 2)
before the file is read; what depends on the file (the `default` name beside a `context`, the
limit of contexts, removing one that is not there) is the configuration error the file's
validation gives (exit 2 too).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from togul_monitor.config.context_attributes import (
    attributes_text,
    check_text,
    is_json_attributes,
    parse_json_attributes,
)
from togul_monitor.config.entry import DEFAULT_CONTEXT_NAME, MAX_CONTEXTS
from togul_monitor.config.validate_context import context_name_problem
from togul_monitor.support.text import safe_text

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT_SET_HELP = (
    "Set the named context NAME to exactly these attributes, e.g. "
    "`--context-set premium plan=premium,user_id=u-1` (repeatable). A value holding a comma "
    """needs the attributes as a JSON object of strings: `--context-set beta '{"segments": """
    """"a,b", "plan": "pro"}'`. The single --context is the context named """
    f"'{DEFAULT_CONTEXT_NAME}'; at most {MAX_CONTEXTS} contexts in all."
)


def parse_attributes(text: str) -> dict[str, str]:
    """A context's attributes, as pairs or as a JSON object; ValueError naming what is wrong."""
    if is_json_attributes(text):
        return parse_json_attributes(text)
    return parse_pairs(text)


def parse_pairs(text: str) -> dict[str, str]:
    """`plan=premium,user_id=u-1` as attributes; ValueError naming the part at fault."""
    pairs: dict[str, str] = {}
    if not text.strip():
        return pairs  # an empty context: no attribute at all
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"expected KEY=VALUE, got {safe_text(part)!r}" + _comma_hint(pairs))
        if key in pairs:
            raise ValueError(f"attribute {safe_text(key)!r} given twice")
        pairs[key] = value
    return check_text(pairs)


def _comma_hint(pairs: Mapping[str, str]) -> str:
    """After a pair, a part without `=` is most likely the rest of a value cut at its comma."""
    if not pairs:
        return ""
    key = json.dumps(safe_text(list(pairs)[-1]), ensure_ascii=False)
    return f"; a value holding a comma is given as a JSON object: '{{{key}: \"a,b\"}}'"


def _parse_context_sets(
    ctx: click.Context, param: click.Parameter, values: tuple[tuple[str, str], ...]
) -> dict[str, dict[str, str]]:
    contexts: dict[str, dict[str, str]] = {}
    for name, pairs in values:
        problem = context_name_problem(name)
        if problem:
            raise click.BadParameter(f"{safe_text(name)!r}: {problem}")
        if name in contexts:
            raise click.BadParameter(f"context {name!r} given twice")
        try:
            contexts[name] = parse_attributes(pairs)
        except ValueError as error:
            raise click.BadParameter(f"context {name!r}: {error}") from None
    return contexts


def context_set_option(func: F) -> F:
    return click.option(
        "--context-set",
        "context_sets",
        nargs=2,
        multiple=True,
        metavar="NAME KEY=VALUE[,KEY=VALUE...]|JSON",
        callback=_parse_context_sets,
        help=CONTEXT_SET_HELP,
    )(func)


def context_remove_option(func: F) -> F:
    return click.option(
        "--context-remove",
        "context_removals",
        multiple=True,
        metavar="NAME",
        help="Remove the named context NAME (repeatable).",
    )(func)


def check_set_and_remove(sets: Mapping[str, object], removals: tuple[str, ...]) -> None:
    both = [name for name in removals if name in sets]
    if both:
        raise click.UsageError(
            f"context {safe_text(both[0])!r} is both set and removed: give one of "
            "--context-set or --context-remove"
        )


def shown_attributes(attributes: Mapping[str, str]) -> str:
    """`plan=premium, user_id=u-1`, or the JSON object `--context-set` takes when a value holds
    a comma, a quote or spaces around it (`{"emails": "x@a.com, y@b.com"}`: as pairs it would
    read as two attributes); `(no attributes)` for an empty context. Printable as it is."""
    return attributes_text(attributes) if attributes else "(no attributes)"
