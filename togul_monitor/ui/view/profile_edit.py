"""What the profile form (`screens/profile_form.py`) would save, checked before anything is
written, without Textual.

The form refuses what `togul-monitor profiles add/edit` refuses: the profile it would write is
built (`ProfileEntry`, or the saved entry with `ProfileChanges` applied) and checked with the
config layer's own validation (`config/validate.py`), so its message, hint included, is the one
the CLI prints. It also refuses a literal and a variable for the same secret (the CLI's "not
both"), a number of seconds that is not one, and clearing a variable the form cannot remove.

Named contexts are typed one a line, `name: key=value, key=value`, or `name: {"key": "a,b"}`
for a value the pairs cannot say (a comma in it), as `profiles edit --context-set` takes it
(`contexts_text` writes a profile's that way, `parse_contexts` reads them back, naming the line
at fault); the single context's field takes either form too. Saving sets the contexts that
changed and removes the ones whose line is gone, through the same `ProfileChanges` as
`togul-monitor profiles edit --context-set/--context-remove`.

It never drops a secret silently: naming a variable for a secret the file holds as a literal
removes the literal (`ProfileChanges`), so it is refused while the variable is unset (the
literal stays) and needs a second save to confirm once it is set. A variable that is not set
in this session is saved only when confirmed the same way: the profile would not open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import msgspec

from togul_monitor.config.context_attributes import (
    attributes_json,
    attributes_text,
    check_text,
    is_json_attributes,
    parse_json_attributes,
)
from togul_monitor.config.entry import DEFAULT_HEARTBEAT_SECONDS, ProfileEntry
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import ProfileChanges
from togul_monitor.config.validate import validate_profile
from togul_monitor.config.validate_context import context_name_problem
from togul_monitor.support.text import mask_secret, safe_text
from togul_monitor.ui.view.form_url import masked_url, unmasked_url

SECRETS = (("api_key", "api_key_env", "API key"), ("token", "token_env", "token"))


@dataclass(frozen=True, slots=True)
class FormFields:
    """The form's text, as typed (stripped). A dataclass, not a record `Struct`: the typed key
    stays out of its repr (a crash screen shows the locals that hold it)."""

    name: str = ""
    base_url: str = ""
    environment_key: str = ""
    api_key_env: str = ""
    api_key: str = field(default="", repr=False)
    token_env: str = ""
    context: str = ""
    contexts: str = ""  # one named context a line: `name: key=value, ...` or `name: {JSON}`
    watch: str = ""
    heartbeat_seconds: str = ""
    allow_insecure: bool = False


class SavePlan(msgspec.Struct, frozen=True):
    """What saving does: add `entry`, or edit `name` with `changes`; or why not (`error`);
    `confirm`: what a second save agrees to (a literal secret removed, an unset variable)."""

    name: str = ""
    entry: ProfileEntry | None = None
    changes: ProfileChanges | None = None
    error: str | None = None
    confirm: str | None = None


def parse_attributes(text: str, where: str) -> dict[str, str]:
    """A context's attributes as typed: `a=1, b=2`, or the JSON object `{"a": "1,2"}` (told by
    its `{`, as `profiles edit --context-set` tells it); raises ValueError starting with `where`."""
    if not is_json_attributes(text):
        return parse_pairs(text, where)
    try:
        return parse_json_attributes(text)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def parse_pairs(text: str, where: str) -> dict[str, str]:
    """`a=1, b=2` → {"a": "1", "b": "2"}; raises ValueError naming the bad part."""
    pairs: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"{where}: {safe_text(part)!r} is not key=value{_comma_hint(pairs)}")
        if key in pairs:
            raise ValueError(f"{where}: attribute {safe_text(key)!r} given twice")
        pairs[key] = value.strip()
    try:
        return check_text(pairs)
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def _comma_hint(pairs: Mapping[str, str]) -> str:
    """After a pair, a part without `=` is most likely the rest of a value cut at its comma."""
    if not pairs:
        return ""
    example = attributes_json({list(pairs)[-1]: "a,b"})
    return f"; a value holding a comma is given as a JSON object: {example}"


def parse_context(text: str, saved: Mapping[str, str] | None = None) -> dict[str, str]:
    """The single context's field; left as the form showed it, the `saved` attributes as they
    are (a name with spaces around it, which the file may hold and no typed text may give)."""
    if saved is not None and text.strip() == attributes_text(saved):
        return dict(saved)
    return parse_attributes(text, "context")


def context_line(name: str, attributes: Mapping[str, str]) -> str:
    """One named context as the form shows it: `name: key=value, key=value`, or `name:` and
    the JSON object when the pairs cannot say its attributes (config/context_attributes.py)."""
    return f"{name}: {attributes_text(attributes)}"


def contexts_text(contexts: Mapping[str, Mapping[str, str]]) -> str:
    """A profile's named contexts as the form shows them, one a line."""
    return "\n".join(context_line(name, attrs) for name, attrs in contexts.items())


def parse_contexts(
    text: str, saved: Mapping[str, Mapping[str, str]] | None = None
) -> dict[str, dict[str, str]]:
    """The form's context lines as name → attributes; raises ValueError naming the line.

    Blank lines and `#` lines are skipped; `name:` alone is a context with no attribute. A line
    left as the form showed it keeps the `saved` context as it is, even one no typed line may
    give (an attribute name with spaces around it, which the file may hold)."""
    unchanged = {context_line(n, a).strip(): n for n, a in (saved or {}).items()}
    contexts: dict[str, dict[str, str]] = {}
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"contexts line {number}"
        if line in unchanged and saved is not None:
            name, attributes = unchanged[line], dict(saved[unchanged[line]])
        else:
            name, attributes = _context_from_line(line, where)
        if name in seen:
            raise ValueError(f"{where}: {name!r} is on line {seen[name]} already")
        seen[name] = number
        contexts[name] = attributes
    return contexts


def _context_from_line(line: str, where: str) -> tuple[str, dict[str, str]]:
    name, sep, rest = line.partition(":")
    name = name.strip()
    if not sep:
        raise ValueError(
            f"{where}: {safe_text(line)!r} is not `name: key=value, ...` "
            """(or `name: {"key": "value"}`)"""
        )
    problem = context_name_problem(name)
    if problem:
        raise ValueError(f"{where}: {safe_text(name)!r}: {problem}")
    return name, parse_attributes(rest, where)


def parse_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(filter(None, (p.strip() for p in text.split(",")))))


#: How the items of a field are told apart: each one shown escaped maps back on its own.
_ITEM_SEPARATORS = {"watch": ",", "context": ",", "contexts": "\n"}


def form_text(key: str, text: str) -> str:
    """A field's text as the form shows it, every control character escaped: a watched flag
    key is the server's text (`w` saves it), and an input shows what it holds raw, escape
    sequences and line feeds included. The named contexts' lines stay lines."""
    if key == "contexts":
        return "\n".join(safe_text(line) for line in text.split("\n"))
    if key == "base_url":  # its password, query and fragment never shown (view/form_url.py)
        return safe_text(masked_url(text))
    return safe_text(text)


def typed_text(key: str, typed: str, original: str) -> str:
    """What a field of the form holds once read: `original` while the form shows it as it was,
    and each item of it (a watched key, a context's pair, a named context's line) shown escaped
    its own original again, so saving never turns a value into its escaped spelling. Items
    spelled alike once escaped map back in the order they were shown."""
    if typed.strip() == form_text(key, original).strip():
        return original
    if key == "base_url":
        return unmasked_url(typed.strip(), original)
    separator = _ITEM_SEPARATORS.get(key)
    if separator is None:
        return typed
    originals: dict[str, list[str]] = {}
    for item in original.split(separator):
        originals.setdefault(form_text(key, item).strip(), []).append(item.strip())
    items = []
    for item in typed.split(separator):
        same = originals.get(item.strip())
        items.append(same.pop(0) if same else item)
    return separator.join(items)


def config_message(error: ConfigError) -> str:
    """The validator's message and hint, without the file and profile the form already shows."""
    about = f"{error.key}: " if error.key else ""
    hint = f"\nhint: {error.hint}" if error.hint else ""
    return f"{about}{error.message}{hint}"


def plan_save(fields: FormFields, old: ProfileEntry | None, environ: Mapping[str, str]) -> SavePlan:
    """Check `fields` (a new profile when `old` is None) the way the CLI would."""
    try:
        context = parse_context(fields.context, old.context if old is not None else None)
        contexts = parse_contexts(fields.contexts, old.contexts if old is not None else None)
        heartbeat = _seconds(fields.heartbeat_seconds, old)
    except ValueError as error:
        return SavePlan(error=str(error))
    watch = parse_list(fields.watch)
    for literal, variable, what in SECRETS:
        if getattr(fields, variable) and getattr(fields, literal, ""):
            return SavePlan(error=f"give the {what} or its variable, not both: clear one")
    if old is None:
        entry = ProfileEntry(
            name=fields.name,
            base_url=fields.base_url,
            environment_key=fields.environment_key,
            api_key=fields.api_key or None,
            api_key_env=fields.api_key_env or None,
            token_env=fields.token_env or None,
            context=context,
            contexts=contexts,
            watch=watch,
            heartbeat_seconds=heartbeat,
            allow_insecure=fields.allow_insecure,
        )
        table, name, plan = entry.to_table(), entry.name, SavePlan(entry.name, entry=entry)
    else:
        try:
            changes = _changes(fields, old, context, watch, heartbeat, contexts)
        except ValueError as error:
            return SavePlan(error=str(error))
        table, name = old.to_table(), old.name
        changes.apply(table, toml=False)
        plan = SavePlan(old.name, changes=changes)
    try:
        validate_profile(name, table)
    except ConfigError as error:
        return SavePlan(error=config_message(error))
    refused, confirm = _secret_checks(fields, old, environ)
    if refused is not None:
        return SavePlan(error=refused)
    return SavePlan(plan.name, plan.entry, plan.changes, confirm=confirm)


def _seconds(text: str, old: ProfileEntry | None) -> float:
    if not text:
        return old.heartbeat_seconds if old is not None else DEFAULT_HEARTBEAT_SECONDS
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"heartbeat seconds: {safe_text(text)!r} is not a number") from None


def _changes(
    fields: FormFields,
    old: ProfileEntry,
    context: dict[str, str],
    watch: tuple[str, ...],
    heartbeat: float,
    contexts: dict[str, dict[str, str]],
) -> ProfileChanges:
    secrets: dict[str, str | None] = {}
    for literal, variable, what in SECRETS:
        typed, saved = getattr(fields, variable), getattr(old, variable) or ""
        if typed == saved:
            continue
        if not typed and not getattr(fields, literal, ""):
            # ProfileChanges sets or replaces a secret; it cannot remove one.
            raise ValueError(
                f"the {what} variable cannot be removed here: give the {what} itself, or "
                "edit profiles.toml (`togul-monitor profiles path`)"
            )
        secrets[variable] = typed or None
    return ProfileChanges(
        base_url=fields.base_url,
        environment_key=fields.environment_key,
        api_key=fields.api_key or None,
        api_key_env=secrets.get("api_key_env"),
        token_env=secrets.get("token_env"),
        context=context,
        unset_context=tuple(k for k in old.context if k not in context),
        set_contexts={n: a for n, a in contexts.items() if old.contexts.get(n) != a},
        remove_contexts=tuple(n for n in old.contexts if n not in contexts),
        watch=tuple(w for w in watch if w not in old.watch),
        unwatch=tuple(w for w in old.watch if w not in watch),
        heartbeat_seconds=heartbeat,
        allow_insecure=fields.allow_insecure,
    )


def _secret_checks(
    fields: FormFields, old: ProfileEntry | None, environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """(error, confirm): a literal secret replaced by a variable that is not set is refused (the
    literal stays); one replaced by a set variable, or a new variable that is not set, needs a
    second save."""
    notes: list[str] = []
    for literal, variable, what in SECRETS:
        name = getattr(fields, variable)
        if not name or (old is not None and name == getattr(old, variable)):
            continue
        shown = safe_text(name)
        saved = getattr(old, literal) if old is not None else None
        if saved and not environ.get(name):
            return (
                f"{shown} is not set in this session: the literal {what} ({mask_secret(saved)}) "
                f"stays in profiles.toml until it is. Set {shown} and start togul-monitor "
                f"again, or clear the {what} variable field",
                None,
            )
        if saved:
            notes.append(
                f"saving removes the literal {what} ({mask_secret(saved)}) from profiles.toml: "
                f"it will be read from ${shown}"
            )
        elif not environ.get(name):
            notes.append(
                f"{shown} is not set in this session: the profile will not open until it is"
            )
    return None, "; ".join(notes) or None
