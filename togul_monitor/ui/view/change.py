"""Before → after as parts that are cut to a width, each cut marked with `…`.

A value change is the product: it is built whole (`change_parts`) and only then fitted to the
room a pane gives it (`fit_parts`). The room is shared between the parts that may be cut (the
values, the reasons) by what each needs: a short side is kept whole and gives what it does not
use to the long side, and a side that is cut ends with `…`, so a cut value never reads as a
whole one (`"bm25" (defaul` could be a value of its own). One change too wide for its room keeps
its after side whole when that leaves the before value a few cells (`defaul… → true`): the new
value is the news, but a cut never shows one side at length and drops the other. A context's
name before the change gives way to the values (`[de… false → true`), not they to it. Widths
are terminal cells.

Server text goes through `safe_text` (`format.fmt_value`) and is appended as plain strings, never
parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
from rich.cells import cell_len
from rich.text import Text

from togul_monitor.domain.values import Evaluation, ValueTransition, same_json
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.format import fmt_value

ELLIPSIS = "…"
ARROW = " → "
BEFORE_MIN = 5  # cells the after side kept whole leaves what comes before it, at least
UNLIMITED = 1 << 30


class Part(msgspec.Struct, frozen=True):
    text: str  # already safe to print
    style: str = ""
    # May be cut: 0 never (arrows, brackets), 1 first (the values), 2 after those (the reasons
    # beside a value that did not change: the value is kept whole before them), 3 only what the
    # others leave, or left out with a `…` in its place (a configuration diff after a value
    # change: view/config_diffs.py; how many contexts a narrow row leaves out: view/contexts.py;
    # rank 3 parts come last).
    cut: int = 0
    # Said in fewer cells, never cut, when the parts before rank 3 do not fit whole: a reason
    # cut to a few letters says nothing (`(defa… → disa…)`), the new one alone does
    # (`(now disabled)`).
    short: str | None = None


Parts = tuple[Part, ...]


def value_text(evaluation: Evaluation | None) -> str:
    """One side of a change, whole: JSON-spelled, `∅` when there is none."""
    if evaluation is None:
        return "∅"
    return fmt_value(evaluation.value, UNLIMITED)


def change_parts(before: Evaluation | None, after: Evaluation | None) -> Parts:
    """`false → true` (the after side emphasised), `"x" → deleted`, or, when only the reason or
    the enabled state changed, the value with what changed: `"bm25" (default → rule_match)`,
    `"bm25" (now rule_match)` where that does not fit.

    Values are compared as JSON (`same_json`), so `true → 1` stays a visible change although
    Python calls them equal, and `25 → 25.0` is none (one JSON number)."""
    if before is not None and after is not None and same_json(before.value, after.value):
        parts = [Part(value_text(after), "bold", cut=1)]
        if before.reason != after.reason:
            was = f"{safe_text(before.reason or '?')} → "
            parts += [
                Part(" (", "dim"),
                Part(was, "dim", cut=2, short="now "),
                Part(safe_text(after.reason or "?"), "dim", cut=2),
                Part(")", "dim"),
            ]
        elif before.enabled != after.enabled:  # a reason that changed says it already
            parts.append(Part(f" (now {'enabled' if after.enabled else 'disabled'})", "dim"))
        return tuple(parts)
    last = Part("deleted", "red") if after is None else Part(value_text(after), "bold", cut=1)
    return (Part(value_text(before), "dim", cut=1), Part(ARROW, "dim"), last)


#: After a change that may hold some the stream did not show (`includes_unseen`), never cut:
#: the event detail says it in full.
UNSEEN_MARK = Part(" +unseen", "yellow")


def transition_parts(transition: ValueTransition) -> Parts:
    """`change_parts` of a transition, marked when it may hold changes the stream did not
    show besides its event's."""
    parts = change_parts(transition.before, transition.after)
    return (*parts, UNSEEN_MARK) if transition.includes_unseen else parts


def parts_width(parts: Sequence[Part]) -> int:
    return sum(cell_len(part.text) for part in parts)


def cut_cells(text: str, width: int) -> str:
    """`text` in at most `width` cells, ending with `…` when cut."""
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    out, cells = [], 0
    for char in text:
        size = cell_len(char)
        if cells + size > width - 1:
            break
        out.append(char)
        cells += size
    return "".join(out) + ELLIPSIS


def cut_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells, its middle replaced by `…` when cut: flag keys that
    share a prefix (`checkout-button-color`, `checkout-v2`) stay apart at any width."""
    if cell_len(text) <= width:
        return text
    if width < 5:  # too narrow for both ends to say anything
        return cut_cells(text, width)
    tail_room = (width - 1) // 2
    tail: list[str] = []
    cells = 0
    for char in reversed(text):
        size = cell_len(char)
        if cells + size > tail_room:
            break
        tail.append(char)
        cells += size
    head = cut_cells(text, width - cells)  # ends with the `…`
    return head + "".join(reversed(tail))


def share(needs: Sequence[int], room: int) -> list[int]:
    """`room` cells shared between parts needing `needs`: equal shares, and what a part does
    not need goes to the others (the shorter parts stay whole)."""
    widths = [0] * len(needs)
    open_ = [i for i, need in enumerate(needs) if need > 0]
    room = max(0, room)
    while open_ and room > 0:
        each = max(1, room // len(open_))
        for i in list(open_):
            give = min(each, needs[i] - widths[i], room)
            widths[i] += give
            room -= give
            if widths[i] >= needs[i]:
                open_.remove(i)
            if room <= 0:
                break
    return widths


def fit_parts(parts: Sequence[Part], width: int) -> Text:
    """`parts` in at most `width` cells: the cuttable parts share what the fixed ones leave, the
    first rank (`cut=1`) before the second, which keeps up to half of it."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if parts_width(parts) <= width:
        for part in parts:
            text.append(part.text, style=part.style)
        return text
    if parts_width([p for p in parts if p.cut != 3]) > width and any(p.short for p in parts):
        return fit_parts(shortened(parts), width)
    extra = [part for part in parts if part.cut == 3]
    if extra:
        return _fit_extra(parts, width)
    room = width - sum(cell_len(p.text) for p in parts if not p.cut)
    first = [i for i, p in enumerate(parts) if p.cut == 1]
    second = [i for i, p in enumerate(parts) if p.cut == 2]
    narrow = room < 2 * (len(first) + len(second))  # not even `x…` each
    arrow = _after_arrow(parts)
    if arrow is not None:
        fitted = _fit_change(parts, arrow, width, narrow)
        if fitted is not None:
            return fitted
    if narrow:  # cut once at the end
        flat = "".join(part.text for part in parts)
        return Text(cut_cells(flat, width), style=parts[0].style if parts else "", no_wrap=True)
    # The second rank keeps up to half the room (at least `x…` each), the first takes the rest.
    second_need = sum(cell_len(parts[i].text) for i in second)
    reserve = max(2 * len(second), min(second_need, room // 2))
    widths: dict[int, int] = {}
    for rank, kept in ((first, reserve), (second, 0)):
        # Shared from the end: a cell that does not divide evenly goes to the after side,
        # the news (`[eu] t… → fa…`, not `[eu] tr… → f…`).
        given = share([cell_len(parts[i].text) for i in reversed(rank)], room - kept)[::-1]
        widths.update(zip(rank, given, strict=True))
        room -= sum(given)
    for index, part in enumerate(parts):
        shown = cut_cells(part.text, widths[index]) if part.cut else part.text
        text.append(shown, part.style)
    return text


def shortened(parts: Sequence[Part]) -> Parts:
    """`parts`, each that has a shorter form in it (never cut)."""
    return tuple(Part(p.short, p.style) if p.short is not None else p for p in parts)


def _after_arrow(parts: Sequence[Part]) -> int | None:
    """The index of the ` → ` before the after side (` → true`, ` → deleted`) when `parts`
    hold one change: not the one between two reasons, nor several contexts' changes in a row."""
    arrows = [
        index
        for index in range(1, len(parts) - 1)
        if parts[index].text == ARROW and parts[index + 1].cut != 2
    ]
    return arrows[0] if len(arrows) == 1 else None


def _fit_change(parts: Sequence[Part], arrow: int, width: int, narrow: bool) -> Text | None:
    """One change too wide for `width`, when its sides are not simply shared: the after side
    whole when that leaves the before value a few cells (`defaul… → true`: the new value is
    the news), or the context's name cut when the values would get less than a few cells
    each (`[de… false → true`). None: share the room as any parts."""
    head, tail = parts[:arrow], parts[arrow:]
    after = parts_width(tail)
    name = sum(cell_len(part.text) for part in head if not part.cut)
    before = parts_width(head) - name
    # Measured on the before value, not on the name before it: the name alone left in front
    # of the after side read as a change with no before (`[defa… → {"variant":"B",…}`).
    left = width - after - name
    fits = after + 2 <= width  # the after side whole leaves `x…` or the name before it
    if fits and left >= min(BEFORE_MIN, before):  # the after side whole, the before value cut
        return _after_whole(head, tail, width)
    squeezed = _name_gives_way(parts, arrow, width)
    if squeezed is not None:
        return squeezed
    # A short after value (`true`) whole beside a stub of the before one (`f… → true`) still
    # shows both; too narrow even for that, the new value is the news.
    short = parts_width([part for part in tail if part.cut]) <= BEFORE_MIN
    if fits and ((short and left >= min(2, before)) or narrow):
        return _after_whole(head, tail, width)
    return None


def _after_whole(head: Sequence[Part], tail: Sequence[Part], width: int) -> Text:
    text = fit_parts(head, width - parts_width(tail))
    text.append_text(whole(tail))
    return text


NAME_MIN = 5  # `[de… `: what a context's name keeps when it gives way to the values


def _name_gives_way(parts: Sequence[Part], arrow: int, width: int) -> Text | None:
    """`parts` with the never-cut parts before the before value (a context's name, `[premium]
    `) cut to what the two values leave when each keeps a few cells (`[pr… ["he… → {"va…`);
    None when they need no cutting or there is nothing to cut."""
    head, tail = parts[:arrow], parts[arrow:]
    fixed = [part for part in head if not part.cut]
    if not fixed or any(part.cut for part in head[: len(fixed)]):
        return None  # no name, or not all of it before the value
    name = "".join(part.text for part in fixed)
    values = [cell_len(part.text) for part in parts if part.cut]
    want = sum(min(BEFORE_MIN, need) for need in values)
    fixed_tail = sum(cell_len(part.text) for part in tail if not part.cut)
    # Down to `[… ` when the values need it to show `x…` each (`[… f… → deleted`).
    least = sum(min(2, need) for need in values)  # `x…` each, or a one-cell value whole
    room = min(max(NAME_MIN, width - fixed_tail - want), width - fixed_tail - least)
    if room >= cell_len(name) or room < 3:
        return None
    shown = Part(cut_cells(name.rstrip(), room - 1) + " ", fixed[0].style)
    return fit_parts((shown, *head[len(fixed) :], *tail), width)


def _fit_extra(parts: Sequence[Part], width: int) -> Text:
    """The parts before rank 3 fitted first (whole when they fit: the values are the news);
    the rank 3 parts get what is left, cut with `…`. What is left out entirely still leaves a
    `…` when a cell is free, so a row never reads as complete when it is not; except that the
    others filling the width exactly stay whole, and a mark never cut (`+unseen`) wins over
    the `…` where there is room for only one of them."""
    kept = [part for part in parts if part.cut != 3]
    left = width - parts_width(kept)
    if left == 0:  # the others exactly: whole, the news first
        return whole(kept)
    if left < 0:  # the others are cut themselves: the row must still end with a `…`
        text = fit_parts(kept, width)
        if not text.plain.endswith(ELLIPSIS):  # a part never cut last (`+unseen`)
            shorter = fit_parts(kept, width - 1)
            if not shorter.plain.endswith(ELLIPSIS):  # too narrow: the mark, not the `…`
                shorter.append(ELLIPSIS, next(part for part in parts if part.cut == 3).style)
                return shorter
        return text
    text = whole(kept)
    text.append_text(_cut_extra(whole([part for part in parts if part.cut == 3]), left))
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


SEPARATORS = " ·"  # between the parts of a row (` · `): never shown alone before a `…`


def _cut_extra(extra: Text, left: int) -> Text:
    """`extra` (wider than `left` cells) in `left` cells, ending with `…`: a few words of it
    (`· rule 2 a…`), or only the mark that something follows (` · …`, ` …`, `…`)."""
    head = extra.copy()
    head.truncate(left - 1, overflow="crop")
    plain = head.plain
    end = len(plain.rstrip(SEPARATORS))
    if not any(char.isalnum() for char in plain[:end]):  # not even a word's start (`+`)
        end = 0
    space = plain.rfind(" ", 0, end)
    token = plain[space + 1 : end]
    if space > 0 and token.startswith("+") and (token[1:].isdigit() or token == "+"):
        # A second count without its word (`+1 changed +1 …`): the count it leaves out goes.
        end = len(plain[:space].rstrip(SEPARATORS))
    if end == len(plain):  # cut inside a word
        marker = ELLIPSIS
    elif extra.plain.startswith(" · ", end) and cell_len(plain[:end]) + 4 <= left:
        marker = " · " + ELLIPSIS  # the next part left out whole
    else:
        marker = " " + ELLIPSIS if cell_len(plain[:end]) + 2 <= left else ELLIPSIS
    shown = extra.copy()
    # Set as plain text: each character keeps the style of the one it replaces, so the `…`
    # reads as part of what it stands for.
    shown.plain = plain[:end] + marker
    return shown


def whole(parts: Sequence[Part]) -> Text:
    """`parts` uncut (the detail line under the selected row, the history pane)."""
    text = Text()
    for part in parts:
        text.append(part.text, style=part.style)
    return text


def change_text(transition: ValueTransition, width: int = 0, context: str = "") -> Text:
    """The change fitted to `width` cells (0: whole); `context`: the name of the context it
    happened in, first and in brackets (a profile that evaluates for several names them:
    view/contexts.py)."""
    parts = transition_parts(transition)
    if context:
        parts = (Part(f"[{safe_text(context)}]", "italic"), Part(" "), *parts)
    return fit_parts(parts, width) if width > 0 else whole(parts)
