"""The values pane's columns and cells, without Textual (`widgets/values_table.py` draws them).

One context: flag, value, type, reason, on, age, shared by what they need (`column_widths`): the
flag key gets a minimum (half the pane, within bounds), then the value what it needs, then the
key the rest of what it needs, then the reason and the type when there is room; what is left
widens the flag column.

Several contexts (a profile that evaluates for `premium`, `free`, `eu`, …): one value column
per context, headed by its name, in the profile's order (`context_widths`). The flag key and
the value columns matter most, and share the room beyond their minimums by what each needs:
the less important columns go first when the pane is narrow (the reason, then the type, then
the age and the on/off state), and a value column is left out (the last first) only when not
even `VALUE_MIN` cells of each fit. The type, reason, on and age columns are the first
context's.

Every cell is cut one short of its column, which leaves one column of gap; a cut value ends with
`…` (`enter` on a row shows it whole), and a value that is stale, evaluating, failed or deleted
says so in its own column. A value asked for and not answered yet is `WAITING`, never `…`: in a
narrow context column a value cut to nothing is a lone `…`, which must not read as "not here
yet".
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec.structs import replace
from rich.cells import cell_len
from rich.text import Text

from togul_monitor.domain.values import FlagValue
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.change import cut_cells, share, value_text

VALUE_LABEL = "value"
#: (key, label); the value column of one context. With several, `value-N` per context.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("flag", "flag"),
    ("value", VALUE_LABEL),
    ("type", "type"),
    ("reason", "reason"),
    ("enabled", "on"),
    ("age", "age"),
)
FIXED = {"enabled": 4, "age": 4}
OPTIONAL = (("reason", 9), ("type", 5))  # added in this order when there is room
# With several contexts the on/off state and the age are kept before the values grow (once
# each context's name fits its header), and the type and reason only with what is left.
KEPT_FIRST = (("enabled", 4), ("age", 4))
ADDED_LAST = (("type", 5), ("reason", 9))
# The flag column's minimum: half the pane, between `★ ` and 12 characters of the key and `★ `
# and 20 (most keys whole); the value gets what it needs of the rest. With several contexts a
# quarter of the pane, from `★ ` and 10 characters.
FLAG_MIN, FLAG_MAX_MIN = 14, 22
FLAG_MIN_SEVERAL = 12
FLAG_FLOOR = 10  # `★ ` and 7 characters of the key, before a context column is left out
VALUE_MIN = 6
SEVERAL_VALUE_MIN = 5  # `false`, `1000` whole: a column per context before more of each
HEADER_MIN = 8  # a context's name kept whole up to this many cells when there is room
STALE_MARK = " ⟳"
NOT_EVALUATED = "not evaluated"
#: A value asked for, not answered yet (shown dim), wherever a value is shown in a cell (this
#: pane, the inventory, the help's legend). One cell, so no column grows while it waits; never
#: what a cut ends with (`…`), nor a value (values are JSON-spelled: a string is quoted).
WAITING = "◌"
WAITING_STYLE = "dim"
SHORT_TYPES = {"boolean": "bool", "string": "str", "number": "num", "json": "json"}
# Cells are narrow; the event detail screen shows the reason in full.
SHORT_REASONS = {"rule_match": "rule"}


def column_widths(inner: int, flag_need: int, value_need: int) -> dict[str, int]:
    """Each shown column's width (gap included) in `inner` cells, for the widest flag cell and
    value cell (`flag_need`, `value_need`, without the gap): one context. The value column is
    never narrower than its header (an empty pane's was one cell: `vtype`)."""
    flag_need, value_need = flag_need + 1, max(value_need, cell_len(VALUE_LABEL)) + 1
    room = inner - sum(FIXED.values())
    flag = min(flag_need, 1 + max(FLAG_MIN, min(FLAG_MAX_MIN, inner // 2)))
    room -= flag
    value = max(min(VALUE_MIN + 1, value_need), min(value_need, room))
    room -= value
    grow = max(0, min(room, flag_need - flag))
    flag, room = flag + grow, room - grow
    widths = {"flag": flag, "value": value}
    for key, width in OPTIONAL:
        if room >= width:
            widths[key], room = width, room - width
    widths["flag"] += max(0, room)  # the table fills the pane
    widths.update(FIXED)
    return {key: widths[key] for key, _ in COLUMNS if key in widths}


def value_key(index: int) -> str:
    """The column key of the `index`-th context's value (names are the user's: not keys)."""
    return f"value-{index}"


def context_widths(
    inner: int, flag_need: int, value_needs: Sequence[int], header_needs: Sequence[int] = ()
) -> dict[str, int]:
    """Each shown column's width (gap included) for several contexts: `value_needs` is what each
    context's widest cell needs, `header_needs` its name (without the gap), in order. Columns
    come in table order: flag, the contexts' values (`value-N`), type, reason, on, age.

    What gives way first when the pane is narrow: the reason and the type, then the room of the
    values and the key beyond their minimums (shared by what each needs), the age and the on/off
    state, then the names' room in the headers
    (up to `HEADER_MIN` cells; cut with `…`) and the flag key down to `FLAG_FLOOR`; only then a
    context column (the last first)."""
    headers = [*header_needs, *[0] * (len(value_needs) - len(header_needs))]
    needs = [max(value, header) + 1 for value, header in zip(value_needs, headers, strict=True)]
    named = [
        min(need, max(VALUE_MIN, min(header, HEADER_MIN)) + 1)
        for need, header in zip(needs, headers, strict=True)
    ]
    bare = [min(need, SEVERAL_VALUE_MIN + 1) for need in needs]
    want = min(flag_need + 1, 1 + max(FLAG_MIN_SEVERAL, min(FLAG_MAX_MIN, inner // 4)))
    floor = min(flag_need + 1, FLAG_FLOOR)
    shown = len(needs)
    while True:
        least = named[:shown] if floor + sum(named[:shown]) <= inner else bare[:shown]
        if shown == 1 or floor + sum(least) <= inner:
            break
        shown -= 1  # the last contexts go only when not even a few cells of each fit
    flag = max(floor, min(want, inner - sum(least)))
    room = inner - flag - sum(least)
    widths: dict[str, int] = {"flag": flag}
    for key, width in KEPT_FIRST:
        if room >= width:
            widths[key], room = width, room - width
    # The key is read first: it grows with the values, by what each still needs, not after them.
    wants = [max(0, flag_need + 1 - flag), *(n - low for n, low in zip(needs, least, strict=False))]
    grow, *more = share(wants, room)
    values = [low + extra for low, extra in zip(least, more, strict=True)]
    widths["flag"], room = flag + grow, room - grow - sum(more)
    for key, width in ADDED_LAST:
        if room >= width:
            widths[key], room = width, room - width
    widths["flag"] += max(0, room)  # the table fills the pane
    order = ["flag", *(value_key(i) for i in range(shown)), "type", "reason", "enabled", "age"]
    widths.update({value_key(i): width for i, width in enumerate(values)})
    return {key: widths[key] for key in order if key in widths}


def value_plain(value: FlagValue | None, evaluates: bool) -> str:
    """What a value cell needs: its text whole. Not the passing states (`⟳`, `WAITING`): the
    widths follow the values, not the moment they were measured at."""
    if value is None:
        return WAITING
    if value.deleted:
        return "deleted"
    current = value.current
    if value.error and current is None:
        return safe_text(value.error)
    if current is None:
        return NOT_EVALUATED if not evaluates else WAITING
    return value_text(current)


def value_cell(value: FlagValue | None, room: int, *, flashing: bool, evaluates: bool) -> Text:
    """One context's value in `room` cells: the value (cut with `…`), stale (`⟳`), waiting
    (`WAITING`), the error, `deleted`, or `not evaluated` when it never comes."""
    if value is None:  # this context has not published the flag yet
        return Text(WAITING, style=WAITING_STYLE)
    current = value.current
    if value.deleted:
        shown = Text(cut_cells("deleted", room), style="red")
    elif value.error and current is None:
        shown = Text(cut_cells(safe_text(value.error), room), style="red")
    elif current is None and not evaluates:
        shown = Text(cut_cells(NOT_EVALUATED, room), style="dim")
    elif current is None:
        shown = Text(WAITING, style=WAITING_STYLE)  # its stale mark dim too: nothing answered yet
        if value.stale:
            shown.append(STALE_MARK, style="yellow")
    else:
        stale = shows_stale(value, evaluates)
        return marked_value(value_text(current), room, stale, "bold" if flashing else "")
    return shown


def shows_stale(value: FlagValue | None, evaluates: bool) -> bool:
    """Whether a value's cell carries `STALE_MARK`: a value held (not deleted) while it is
    asked for again, on a profile that evaluates."""
    return (
        value is not None
        and value.stale
        and not value.deleted
        and evaluates
        and value.current is not None
    )


def marked_value(text: str, room: int, stale: bool, style: str = "") -> Text:
    """A value in `room` cells, then `STALE_MARK` when `stale`: the value is cut to leave the
    mark its cells, never the mark to the cut, since `"priority…` would read as a current
    value longer than shown where the truth is a whole value that may be out of date. The
    values pane and the inventory (`i`) cut their values by this one rule."""
    mark = STALE_MARK if stale else ""
    shown = Text(cut_cells(text, room - cell_len(mark)), style=style)
    if stale:
        shown.append(STALE_MARK, style="yellow")
    return shown


def header(context: str, width: int) -> Text:
    """A context column's label: the name as plain text (it is user config), cut with `…`."""
    return Text(cut_cells(safe_text(context), max(1, width - 1)))


def needs_of(flag_key: str) -> int:
    """What the flag cell needs: `★ ` and the key."""
    return 2 + cell_len(safe_text(flag_key))


# The value of a row that never came, once nothing runs to ask it (a failed switch).
NOTHING_RUNS = "not evaluated: nothing runs"


def unfollowed(value: FlagValue) -> FlagValue | None:
    """`value` once no monitor follows it (None: it shows that already): ⟳ when one is held,
    `NOTHING_RUNS` when none came."""
    if value.deleted:
        return None
    if value.current is not None:
        return None if value.stale else replace(value, stale=True)
    return None if value.error else replace(value, stale=True, error=NOTHING_RUNS)
