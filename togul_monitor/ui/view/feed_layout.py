"""The feed's rows as text: columns shared by what they need, cuts marked, the selected row whole.

An event row is: time, type, flag key, environment, version, and the value change. Time and
type have fixed widths; the rest of the row is shared by what the rows on screen need
(`RowNeeds`, the widest of each column), in this order (`layout_for`): the flag key and the
environment get a minimum (their whole text when short; the key's a quarter of the room on a
wide pane), then the value change gets what it needs (a row whose long form cannot fit shows
its short one, and needs only that), then the key and the environment grow to what they need,
then the version is shown when it fits. The environment column is left out when every row on
screen is the profile's own environment (the status bar names it) and there is no room for it.
Whatever is cut ends with `…`; the selected row, when cut, is shown whole on the lines under it
(`expanded_lines`).

Textual-free (`widgets/event_feed.py` draws these lines); server text goes through `safe_text`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import msgspec
from rich.cells import cell_len
from rich.text import Text

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import WITH_NEXT
from togul_monitor.domain.values import ValueTransition
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import (
    Part,
    Parts,
    cut_cells,
    cut_middle,
    fit_parts,
    parts_width,
    transition_parts,
    value_text,
)
from togul_monitor.ui.view.config_diffs import DIFF_STYLE, with_diff
from togul_monitor.ui.view.contexts import contexts_change
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.format import fmt_clock, type_style
from togul_monitor.ui.view.found import TYPE_CELL, FoundChange, change_parts, row_parts
from togul_monitor.ui.view.rows import FeedItem, Row

TYPE_WIDTH = 12  # `flag.updated`
FLAG_MIN = 16  # most keys whole (`checkout-button-color` is cut to `checkout-button…`)
FLAG_SHARE = 4  # a wide pane's key gets a quarter of the row's room first (whole, mostly)
ENV_MIN = 8
ENV_MAX = 24

MARKER_STYLES = {
    "outage": "bold yellow",
    "outage-missing": "bold red",
    "malformed": "red",
    "gap": "yellow",
    "info": "italic dim",
    "continued": "bold red",  # the second row of a marker: no time column, so it fits 80 cols
}

#: What a row without a value change says (item: its long form, then a short one for narrow
#: panes). `view/answers.py` says when each applies.
STATUS_TEXTS: dict[str, tuple[str, str]] = {
    "unchanged": ("value unchanged for your context", "unchanged"),
    "with-next": (WITH_NEXT, "see next"),
    "evaluating": ("evaluating…", "evaluating…"),
    "not-evaluated": ("not evaluated", "not eval."),
    "other-environment": ("not evaluated: other environment", "other env"),
    "unmonitored": ("not evaluated: flag limit reached", "flag limit"),
}


def time_width(time_mode: str) -> int:
    """`12:01:03`, `12:01:03Z`, `42s ago` (`365d ago` at most)."""
    return 9 if time_mode == "utc" else 8


def lead(time_mode: str) -> int:
    """The cells before the flag key: time and type, a space after each."""
    return time_width(time_mode) + 1 + TYPE_WIDTH + 1


def environment_label(environment_id: str, names: Mapping[str, str] | None) -> str:
    if names and environment_id in names:
        return safe_text(names[environment_id])
    return safe_text(environment_id[:8])


def found_label(store: FeedStore, names: Mapping[str, str] | None, row: FoundChange) -> str:
    """The environment cell of a found row (view/found.py): the profile's, once known; an
    earlier run's, the key the journal recorded (none when not known)."""
    if row.recorded:
        return safe_text(row.environment(""))
    own = store.answers.environment_id
    return environment_label(own, names) if own is not None else ""


def _status(name: str) -> tuple[Parts, Parts]:
    long, short = STATUS_TEXTS[name]
    style = "dim italic" if name == "evaluating" else "dim"
    return (Part(long, style, cut=1),), (Part(short, style, cut=1),)


#: Before what the row of an event the server replayed after an outage says: its time is when
#: it was received, after the outage it happened in (domain/history.py `Replays`, the rule of
#: `history`; the detail says when it happened).
REPLAYED = (Part("replayed", "yellow"), Part(" · ", "dim"))


def row_forms(event: FlagEvent, store: FeedStore) -> tuple[Parts, ...]:
    """What the row says, its long form first and its shortest last: the value's change, or
    why there is none, with what the event changed in the flag's configuration when that is
    known (view/config_diffs.py). A profile with several contexts says what each did, and
    between the two forms with fewer of its changes (view/contexts.py)."""
    transitions = store.transitions_for(event)
    forms = _value_change(event, store, transitions)
    diff, moved = store.diffs.for_event(event), bool(transitions)
    forms = tuple(with_diff(form, form, diff, moved)[0] for form in forms)
    if store.replays.outage_of(event) is None:
        return forms
    return tuple(_replayed(form) for form in forms)


def row_change(event: FlagEvent, store: FeedStore) -> tuple[Parts, Parts]:
    """What the row says (long, short): its widest form and its narrowest (`row_forms`)."""
    forms = row_forms(event, store)
    return forms[0], forms[-1]


def fitting(forms: Sequence[Parts], room: int) -> Parts:
    """The first of `forms` (widest first) whose changes and count fit `room` cells, else the
    last: a diff after a value change gets only what they leave (view/config_diffs.py), and
    must not make a row hide a change it has room for."""
    return next((form for form in forms if form_widths(form)[0] <= room), forms[-1])


def form_widths(form: Parts) -> tuple[int, int]:
    """A form's cells but a diff cut after its changes (`fitting`), and all of them."""
    full = parts_width(form)
    diff = sum(cell_len(part.text) for part in form if part.cut == 3 and part.style == DIFF_STYLE)
    return full - diff, full


def _replayed(parts: Parts) -> Parts:
    return (*REPLAYED, *parts) if parts else REPLAYED[:1]


def _value_change(
    event: FlagEvent, store: FeedStore, transitions: Sequence[ValueTransition]
) -> tuple[Parts, ...]:
    """What the row says of the value: the change, or why there is none (long first)."""
    if store.answers.several:
        said = contexts_change(event, store.answers, transitions)
        if said is not None:
            return said
    elif transitions:
        transition = transitions[-1]
        parts = transition_parts(transition)
        return parts, parts
    answers = store.answers
    answer = answers.answer(event)
    if answer is not None:
        if answer.state == "deleted":
            parts = (Part("deleted", "red"),)
            return parts, parts
        if answer.state == "first":
            value = Part(value_text(answer.value), "bold", cut=1)
            if event.type == "flag.created":
                parts = (Part("∅ → ", "dim"), value)
                return parts, parts
            return (Part("first value: ", "dim"), value), (Part("now ", "dim"), value)
        return _status(answer.state)
    if not answers.evaluates or answers.halted:
        return _status("not-evaluated")
    if not answers.concerns(event):
        return _status("other-environment")
    if answers.waiting(event):
        return _status("evaluating")
    return (), ()  # received before this view could follow it: nothing to claim


class RowNeeds(msgspec.Struct):
    """The widest text of each column among some rows (cells)."""

    flag: int = 0
    env: int = 0
    version: int = 0
    change: int = 0  # the widest long form
    env_needed: bool = False  # some row is not of the profile's environment
    # Each row's forms' widths (`form_widths`), widest first: a row whose long form does not
    # fit shows the first of its shorter ones that does, or its shortest, and needs only that.
    forms: set[tuple[tuple[int, int], ...]] = msgspec.field(default_factory=set)

    def add(self, event: FlagEvent, store: FeedStore, names: Mapping[str, str] | None) -> None:
        self.flag = max(self.flag, cell_len(safe_text(event.flag_key)))
        label = environment_label(event.environment_id, names)
        self.env = max(self.env, min(ENV_MAX, cell_len(label)))
        self.version = max(self.version, len(f"v{event.version}"))
        self.add_change(*(form_widths(form) for form in row_forms(event, store)))
        own = store.answers.environment_id
        if own is None or event.environment_id != own:
            self.env_needed = True

    def add_change(self, *widths: tuple[int, int]) -> None:
        """A row's forms' widths (`form_widths`), its long form first."""
        self.change = max(self.change, widths[0][1])
        self.forms.add(widths)

    def change_in(self, room: int) -> int:
        """The most cells a row's change uses when it has `room`: the first of its forms that
        fits, else its shortest (`fitting`, row_text's choice). Room beyond it is left to the
        key."""
        if self.change <= room or not self.forms:
            return self.change
        return max(
            next((full for core, full in forms if core <= room), forms[-1][1])
            for forms in self.forms
        )


def needs_of(rows: Iterable[Row], store: FeedStore, names: Mapping[str, str] | None) -> RowNeeds:
    needs = RowNeeds()
    for row in rows:
        if type(row) is FlagEvent:
            needs.add(row, store, names)
        elif isinstance(row, FoundChange):
            needs.flag = max(needs.flag, cell_len(safe_text(row.flag_key)))
            # Its long form is chosen when every change fits (`_found_text`); the note after
            # them takes what is left.
            long, short = parts_width(change_parts(row)), parts_width(row_parts(row)[1])
            needs.add_change((long, long), (short, short))
            if row.recorded and row.environment("") != store.answers.environment_key:
                needs.env_needed = True  # an earlier run's, of another environment (or none)
                label = found_label(store, names, row)
                needs.env = max(needs.env, min(ENV_MAX, cell_len(label)))
    return needs


class FeedLayout(msgspec.Struct, frozen=True):
    """Cells for the flag key, the environment (0: left out) and the version (0: left out);
    each is followed by one space, and the value change takes the rest of the row."""

    flag: int
    env: int
    version: int


def layout_for(width: int, needs: RowNeeds, time_mode: str = "local") -> FeedLayout:
    room = width - lead(time_mode)
    flag = min(needs.flag, max(FLAG_MIN, room // FLAG_SHARE))
    env = min(needs.env, ENV_MIN) if needs.env_needed else 0
    room -= flag + 1 + (env + 1 if env else 0)
    room -= min(needs.change_in(max(0, room)), max(0, room))  # the change first
    grow = max(0, min(room, needs.flag - flag))
    flag, room = flag + grow, room - grow
    if env:
        grow = max(0, min(room, needs.env - env))
        env, room = env + grow, room - grow
    elif needs.env and room >= needs.env + 1:
        env, room = needs.env, room - needs.env - 1
    version = needs.version if needs.version and room >= needs.version + 1 else 0
    return FeedLayout(flag, env, version)


def _cell(text: str, width: int, cut: Callable[[str, int], str] = cut_cells) -> str:
    shown = cut(text, width)
    return shown + " " * (width - cell_len(shown))


def row_text(
    item: Row,
    width: int,
    *,
    time_mode: str,
    now: float,
    environment_names: Mapping[str, str] | None,
    store: FeedStore,
    layout: FeedLayout | None = None,
) -> Text:
    """One feed row in `width` cells; `layout` None: laid out for this row alone."""
    stamp = _cell(fmt_clock(item.received_at, time_mode, now), time_width(time_mode))
    if isinstance(item, FoundChange):
        if layout is None:
            layout = layout_for(width, needs_of((item,), store, environment_names), time_mode)
        return _found_text(item, width, stamp, layout, environment_names, store)
    if isinstance(item, FeedItem):
        style = MARKER_STYLES.get(item.marker, "")
        if item.marker == "continued":
            return Text(cut_cells(safe_text(item.text), width), style=style)
        text = Text.assemble((stamp + " ", "dim"))  # Text(…, style) dims every span
        text.append(cut_cells(safe_text(item.text), width - len(stamp) - 1), style=style)
        return text
    event: FlagEvent = item
    if layout is None:
        layout = layout_for(width, needs_of((event,), store, environment_names), time_mode)
    text = Text.assemble((stamp + " ", "dim"))
    text.append(_cell(safe_text(event.type), TYPE_WIDTH) + " ", style=type_style(event.type))
    text.append(_cell(safe_text(event.flag_key), layout.flag, cut_middle) + " ")
    if layout.env:
        label = environment_label(event.environment_id, environment_names)
        text.append(_cell(label, layout.env) + " ")
    if layout.version:
        text.append(_cell(f"v{event.version}", layout.version) + " ", style="dim")
    room = width - text.cell_len
    parts = fitting(row_forms(event, store), room)
    if room > 0 and parts:
        text.append_text(fit_parts(parts, room))
    return text


def _found_text(
    item: FoundChange,
    width: int,
    stamp: str,
    layout: FeedLayout,
    names: Mapping[str, str] | None,
    store: FeedStore,
) -> Text:
    """A change no event explains, in the columns of the event rows: `re-evaluated` for the
    type, the flag key, the profile's environment, no version, the change, and what is left of
    `found, no event of its own`."""
    text = Text.assemble((stamp + " ", "dim"))
    text.append(_cell(TYPE_CELL.text, TYPE_WIDTH) + " ", style=TYPE_CELL.style)
    text.append(_cell(safe_text(item.flag_key), layout.flag, cut_middle) + " ")
    if layout.env:
        text.append(_cell(found_label(store, names, item), layout.env) + " ")
    if layout.version:
        text.append(" " * (layout.version + 1))
    room = width - text.cell_len
    long, short = row_parts(item)
    if room > 0:
        fits = parts_width(change_parts(item)) <= room  # every change whole: the note may go
        text.append_text(fit_parts(long if fits else short, room))
    return text


def row_is_cut(
    item: Row,
    width: int,
    layout: FeedLayout,
    names: Mapping[str, str] | None,
    store: FeedStore,
    time_mode: str = "local",
) -> bool:
    """Whether the row as laid out hides some of its text (the selected row is then expanded)."""
    if isinstance(item, FoundChange):
        change = parts_width(row_parts(item)[0])
        used = _before_change(layout, time_mode)
        return cell_len(safe_text(item.flag_key)) > layout.flag or change > width - used
    if isinstance(item, FeedItem):
        before = 0 if item.marker == "continued" else time_width(time_mode) + 1
        return cell_len(safe_text(item.text)) > width - before
    event: FlagEvent = item
    label = environment_label(event.environment_id, names)
    if cell_len(safe_text(event.flag_key)) > layout.flag:
        return True
    if (layout.env or store.answers.environment_id != event.environment_id) and cell_len(
        label
    ) > layout.env:
        return True
    long, _ = row_change(event, store)
    return parts_width(long) > width - _before_change(layout, time_mode)


def _before_change(layout: FeedLayout, time_mode: str) -> int:
    """The cells of a row before its change: time, type, key, environment, version."""
    used = lead(time_mode) + layout.flag + 1 + (layout.env + 1 if layout.env else 0)
    return used + (layout.version + 1 if layout.version else 0)
