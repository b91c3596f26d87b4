"""What an edit changes in one profile (`ProfileChanges`), applied alike to the plain data the
store checks and to the tomlkit table it writes, and the TOML layout of a new profile.

Named contexts are edited in the layout the file already uses: a context written as an inline
table (`premium = { plan = "premium" }`, in `[profiles.NAME.contexts]` or in one
`contexts = { ... }`) stays one, a `[profiles.NAME.contexts.premium]` sub-table stays a
sub-table, and a new context takes the form of the ones beside it. A profile without contexts
gets a `[profiles.NAME.contexts]` table with one inline table a line (README.md's form).

tomlkit is imported by what writes a file only: every command reads the profiles at its start
and none of that needs it.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeGuard

from togul_monitor.config.entry import SECRET_PAIRS

if TYPE_CHECKING:
    from tomlkit.items import Table

__all__ = ["ProfileChanges", "toml_table"]


@dataclass(frozen=True)
class ProfileChanges:
    """What `profiles edit` changes; None (or empty) leaves a value as it is.

    Setting one form of a credential removes the other (`api_key_env` replaces `api_key`).
    """

    base_url: str | None = None
    environment_key: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None
    token: str | None = field(default=None, repr=False)
    token_env: str | None = None
    refresh_token: str | None = field(default=None, repr=False)
    refresh_token_env: str | None = None
    context: Mapping[str, str] = field(default_factory=dict)  # merged into the context
    unset_context: tuple[str, ...] = ()
    # Named contexts: each given one replaces the context of that name whole (or adds it);
    # removals are applied first. The store refuses to remove a context that is not there.
    set_contexts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    remove_contexts: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()  # added to the watch list
    unwatch: tuple[str, ...] = ()
    heartbeat_seconds: float | None = None
    allow_insecure: bool | None = None

    def apply(self, table: MutableMapping[str, Any], *, toml: bool) -> None:
        """Apply to a plain dict (toml=False) or a tomlkit table in place (toml=True)."""
        for key in ("base_url", "environment_key", "heartbeat_seconds", "allow_insecure"):
            value = getattr(self, key)
            if value is not None:
                table[key] = value
        for literal, indirect in SECRET_PAIRS:
            for key, other in ((literal, indirect), (indirect, literal)):
                value = getattr(self, key)
                if value is not None:
                    table.pop(other, None)
                    table[key] = value
        existing = table.get("context")
        if toml and _is_sub_table(existing) and (self.context or self.unset_context):
            # Written as a `[profiles.NAME.context]` sub-table: edit it where it is.
            for key, value in self.context.items():
                existing[key] = value
            for key in self.unset_context:
                existing.pop(key, None)
            if not existing:
                del table["context"]
        elif self.context or self.unset_context:
            context = dict(table.get("context", {}))
            context.update(self.context)
            for key in self.unset_context:
                context.pop(key, None)
            if context:
                table["context"] = _inline(context) if toml else context
            else:
                table.pop("context", None)
        if self.set_contexts or self.remove_contexts:
            if toml:
                self._apply_contexts_toml(table)
            else:
                self._apply_contexts(table)
        if self.watch or self.unwatch:
            watch = [w for w in table.get("watch", []) if w not in self.unwatch]
            watch += [w for w in self.watch if w not in watch]
            if watch:
                table["watch"] = watch
            else:
                table.pop("watch", None)

    def _apply_contexts(self, table: MutableMapping[str, Any]) -> None:
        contexts = {name: dict(attrs) for name, attrs in table.get("contexts", {}).items()}
        for name in self.remove_contexts:
            contexts.pop(name, None)
        for name, attributes in self.set_contexts.items():
            contexts[name] = dict(attributes)
        if contexts:
            table["contexts"] = contexts
        else:
            table.pop("contexts", None)

    def _apply_contexts_toml(self, table: MutableMapping[str, Any]) -> None:
        import tomlkit
        from tomlkit.items import InlineTable, Table

        contexts = table.get("contexts")
        if isinstance(contexts, InlineTable):
            # One `contexts = { ... }`: written afresh (edited in place, tomlkit leaves stray
            # spaces), keeping the comment after it on its line.
            plain: dict[str, Any] = {"contexts": contexts.unwrap()}
            self._apply_contexts(plain)
            if "contexts" not in plain:
                del table["contexts"]
                return
            replacement = _inline({k: _inline(v) for k, v in plain["contexts"].items()})
            replacement.trivia.comment_ws = contexts.trivia.comment_ws
            replacement.trivia.comment = contexts.trivia.comment
            table["contexts"] = replacement
            return
        if contexts is None:
            if not self.set_contexts:
                return
            # A profile written as an inline table can only hold inline tables.
            contexts = tomlkit.inline_table() if isinstance(table, InlineTable) else tomlkit.table()
            table["contexts"] = contexts
            contexts = table["contexts"]
        for name in self.remove_contexts:
            if name in contexts:
                del contexts[name]
        # A new context is a sub-table when its siblings are (and they can be).
        sub_tables = isinstance(contexts, Table) and any(
            isinstance(v, Table) for v in contexts.values()
        )
        for name, attributes in self.set_contexts.items():
            current = contexts.get(name)
            if isinstance(current, Table):
                # Edited in place: the comments beside the attributes that stay, stay.
                for key in [k for k in current if k not in attributes]:
                    del current[key]
                for key, value in attributes.items():
                    current[key] = value
            elif isinstance(current, InlineTable):
                # A fresh inline table (one edited in place keeps stray spaces), keeping the
                # comment after it on its line.
                replacement = _inline(attributes)
                replacement.trivia.comment_ws = current.trivia.comment_ws
                replacement.trivia.comment = current.trivia.comment
                contexts[name] = replacement
            elif sub_tables:
                contexts[name] = _sub_table(attributes)
            else:
                contexts[name] = _inline(attributes)
        if not contexts:
            del table["contexts"]


def _is_sub_table(value: object) -> TypeGuard[Table]:
    from tomlkit.items import Table

    return isinstance(value, Table)


def _inline(mapping: Mapping[str, Any]) -> Any:
    import tomlkit

    inline = tomlkit.inline_table()
    inline.update(mapping)
    return inline


def _sub_table(mapping: Mapping[str, Any]) -> Table:
    import tomlkit

    table = tomlkit.table()
    table.update(mapping)
    return table


def toml_table(entry_table: Mapping[str, Any]) -> Table:
    """A new profile's table (`ProfileEntry.to_table()`) laid out for the file: its named
    contexts in a `[profiles.NAME.contexts]` table of their own, after the plain keys."""
    import tomlkit

    table = tomlkit.table()
    for key, value in entry_table.items():
        if key != "contexts":
            table[key] = _inline(value) if isinstance(value, Mapping) else value
    contexts = entry_table.get("contexts")
    if isinstance(contexts, Mapping) and contexts:
        named = tomlkit.table()
        for name, attributes in contexts.items():
            named[name] = _inline(attributes)
        table["contexts"] = named
    return table
