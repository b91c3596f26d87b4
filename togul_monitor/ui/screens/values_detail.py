"""`enter` on a values row: the flag's values whole, one section per context of the profile.

The values pane cuts a value to its column (`…`) and shows one mark for its state; this screen
says all a context's value is: the value itself, JSON-spelled and never cut, what the answer
said besides it (type, reason, enabled), when it was answered and for which event, whether it is
current or stale (asked again and not answered yet, or waiting for the stream to be back), or
in doubt while the stream is silent or down or no monitor runs (view/doubt.py), the last error,
and the value before its last change. It is live: a few times a second it reads the pane's
values again, so an answer that comes while it is open shows. `e` opens the detail of the
flag's latest event in the feed over it: that event's before → after, which is not the value now
once a later answer moved it.

Every line is plain `Text` of escaped server text, never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from togul_monitor.domain.values import Evaluation, FlagValue
from togul_monitor.support.text import safe_text
from togul_monitor.ui.screens.event_detail import evaluation_extras
from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.view.change import value_text
from togul_monitor.ui.view.doubt import Doubt, state_words
from togul_monitor.ui.view.format import fmt_age, fmt_full_time, plain
from togul_monitor.ui.view.value_columns import NOT_EVALUATED, WAITING

#: (context name, its value: None while that context has not published the flag)
ContextValue = tuple[str, FlagValue | None]
#: (label, what it says): a line of a context's section, its text wrapped beside the label
Row = tuple[str, Text]

LABEL = 9  # the labels' column
REFRESH_EVERY = 0.5  # seconds between two reads of the values (the ages move each second)


def _answer(ev: Evaluation, style: str) -> Text:
    # The style is the value's span, not the Text's own: that one would style the extras too.
    text = Text()
    text.append(value_text(ev), style=style)  # whole, however long
    extra = evaluation_extras(ev)
    if extra:
        text.append("  " + extra, style="dim")
    return text


def context_rows(
    value: FlagValue | None,
    *,
    evaluates: bool,
    now: float,
    time_mode: str,
    doubt: Doubt | None = None,
) -> list[Row]:
    """One context's value of the flag, whole, and its state, a row each (`doubt`: why every
    value may be out of date, view/doubt.py)."""
    if value is None:
        return [("value", Text(f"{WAITING} not answered yet", style="dim"))]
    rows: list[Row] = []
    current = value.current
    if value.deleted:
        words = "deleted (a flag.deleted event, or evaluate said 404)"
        rows.append(("value", Text(words, style="red")))
    elif current is not None:
        rows.append(("value", _answer(current, "bold")))
    elif not evaluates:
        why = f"{NOT_EVALUATED}: this profile cannot evaluate (the values pane says why)"
        rows.append(("value", Text(why, style="dim")))
    elif value.error is None:
        rows.append(("value", Text(f"{WAITING} not answered yet", style="dim")))
    else:
        rows.append(("value", Text("none: the evaluation failed", style="red")))
    if current is not None and not value.deleted:
        stale = value.stale and evaluates
        words = state_words(stale, doubt)
        yellow = stale or doubt is not None
        rows.append(("state", Text(words, style="yellow" if yellow else "")))
    if value.error:
        words = f"the last ask failed: {safe_text(value.error)}"
        rows.append(("error", Text(words, style="red")))
    if value.evaluated_at is not None:
        when = fmt_full_time(value.evaluated_at, time_mode)
        when += f" ({fmt_age(now - value.evaluated_at)} ago)"
        if value.trigger_event_id:
            when += f", for event {safe_text(value.trigger_event_id)}"
        rows.append(("answered", Text(when)))
    if value.previous is not None:
        rows.append(("before", _answer(value.previous, "")))
    return rows


def _section(rows: list[Row], indent: int) -> Padding:
    """The rows as two columns: a long value wraps beside its label, never under it."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(style="dim", no_wrap=True, width=LABEL)
    table.add_column(ratio=1, overflow="fold")
    for label, text in rows:
        table.add_row(Text(label), text)
    return Padding(table, (0, 0, 0, indent))


def values_body(
    flag_key: str,
    values: Sequence[ContextValue],
    *,
    evaluates: bool,
    now: float,
    time_mode: str,
    doubt: Doubt | None = None,
) -> Group:
    """The flag's value for each context, whole (`values` in the profile's order)."""
    several = len(values) > 1
    head = f"values for this profile's {len(values)} contexts" if several else None
    parts: list[RenderableType] = [
        Text(safe_text(flag_key) + "\n", style="bold"),
        Text(head or "value for this profile's context", style="bold underline"),
    ]
    for name, value in values:
        if several:
            parts.append(Text("\n  " + safe_text(name), style="bold"))
        rows = context_rows(value, evaluates=evaluates, now=now, time_mode=time_mode, doubt=doubt)
        parts.append(_section(rows, 4 if several else 2))
    return Group(*parts)


class ValuesDetailScreen(ModalScreen[None]):
    BINDINGS = [
        *close_and_help("values_close"),
        Binding(
            "e",
            "latest_event",
            "Latest event",
            tooltip="The detail of the flag's latest event in the feed",
            id="values_event",
        ),
    ]
    HELP_TITLE = "values of one flag (enter on a values row)"
    OTHER_KEYS = (("up,down", "Scroll"),)

    DEFAULT_CSS = """
    ValuesDetailScreen { align: center middle; }
    ValuesDetailScreen > VerticalScroll {
        width: 90%; max-width: 110; height: 80%; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        flag_key: str,
        read: Callable[[], Sequence[ContextValue]],
        *,
        evaluates: Callable[[], bool],
        clock: Callable[[], float],
        time_mode: str,
        latest_event: Callable[[], None],
        doubt: Callable[[], Doubt | None] = lambda: None,
    ) -> None:
        """`read`: each context's value of the flag now (the values pane's); `latest_event`
        opens the detail of the flag's latest event, or says there is none; `doubt`: why every
        value may be out of date now (the values pane's title says it too)."""
        super().__init__()
        self.flag_key = flag_key
        self.read = read
        self.evaluates = evaluates
        self.clock = clock
        self.time_mode = time_mode
        self.latest_event = latest_event
        self.doubt = doubt
        self._shown: tuple[object, ...] | None = None

    def body(self) -> Group:
        now, doubt = self.clock(), self.doubt()
        values = tuple(self.read())
        self._shown = (values, int(now), self.evaluates(), doubt)
        return values_body(
            self.flag_key,
            values,
            evaluates=self.evaluates(),
            now=now,
            time_mode=self.time_mode,
            doubt=doubt,
        )

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = plain(f"values · {self.flag_key}")
            scroll.border_subtitle = "e latest event · esc close"
            yield Static(self.body(), id="values-detail-body")
        yield modal_footer()

    def on_mount(self) -> None:
        self.set_interval(REFRESH_EVERY, self._look, name="values-detail")

    def _look(self) -> None:
        shown = (tuple(self.read()), int(self.clock()), self.evaluates(), self.doubt())
        if shown != self._shown:
            self.query_one("#values-detail-body", Static).update(self.body())

    def action_latest_event(self) -> None:
        self.latest_event()
