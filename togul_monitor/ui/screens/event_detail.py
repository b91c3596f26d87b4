"""The event detail screen: the event JSON, value before → after, event id, server vs received
time.

A profile that evaluates for several contexts gets each context's before → after, and for the
others what they said (`unchanged`, `evaluating…`: view/contexts.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

import msgspec
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.values import UNSEEN_NOTE, Evaluation, ValueTransition
from togul_monitor.support.text import safe_text
from togul_monitor.ui.messages import TransitionLoaded
from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.view.change import value_text
from togul_monitor.ui.view.contexts import STATE_WORDS
from togul_monitor.ui.view.format import fmt_clock, fmt_full_time, fmt_lag, type_style
from togul_monitor.ui.view.found import FoundChange, named
from togul_monitor.ui.view.rows import FeedItem, marker_fields

EVENT_JSON_NOTE = (
    "the fields the monitor keeps; id is the SSE event id, received_at this monitor's clock"
)


class ContextWords(msgspec.Struct, frozen=True):
    """The profile's contexts for the detail: their names in order (none or one: the single
    context's section as ever), and what each context without a value change said (the single
    one's too: its section says when the event was evaluated only with the next)."""

    names: tuple[str, ...] = ()
    states: Mapping[str, str] = msgspec.field(default_factory=dict)


NO_CONTEXTS = ContextWords()


#: Why a change may hold more than one change (`includes_unseen`).
UNSEEN_WHY = (
    "the stream may have missed events, or the value before is from an earlier run"
    " and the time since was not proved whole"
)


def _evaluation_lines(label: str, ev: Evaluation | None, indent: str = "  ") -> Text:
    # The label's style is its span, not the Text's own: that one would dim the value too.
    text = Text()
    text.append(f"{indent}{label:<7}", style="dim")
    if ev is None:
        text.append("(none)", style="dim")
        return text
    text.append(value_text(ev), style="bold")  # whole: the detail shows everything
    extra = evaluation_extras(ev)
    if extra:
        text.append("  " + extra, style="dim")
    return text


def evaluation_extras(ev: Evaluation) -> str:
    """What an answer says besides its value: `type string, reason rule_match, enabled`."""
    extra = []
    if ev.value_type:
        extra.append(f"type {safe_text(ev.value_type)}")
    if ev.reason:
        extra.append(f"reason {safe_text(ev.reason)}")
    if ev.enabled is not None:
        extra.append("enabled" if ev.enabled else "disabled")
    return ", ".join(extra)


def _change_lines(transition: ValueTransition, indent: str = "  ", unseen: str = "") -> Text:
    """Before and after, and when the change may hold what the stream did not show, why
    (`unseen`: the reason to give; an event's by default)."""
    text = _evaluation_lines("before", transition.before, indent)
    text.append("\n")
    if transition.after is None:
        text.append(f"{indent}after  deleted\n", style="red")
    else:
        text.append_text(_evaluation_lines("after", transition.after, indent))
        text.append("\n")
    if transition.includes_unseen:
        if not unseen:
            unseen = f"{UNSEEN_NOTE}, not only this event's: {UNSEEN_WHY}"
        text.append(f"{indent}note   {unseen}\n", "yellow")
    return text


def _alone_words(contexts: ContextWords) -> str:
    """What the single context's section says without a change: that the event was evaluated
    only with the next one when it was, or that nothing will evaluate it (the row's words),
    since "no change" would claim what nobody saw."""
    for state in ("with-next", "not-evaluated"):
        if STATE_WORDS[state] in contexts.states.values():
            return STATE_WORDS[state]
    return "no change recorded for this event (or not evaluated yet)"


def _contexts_lines(
    transitions: Sequence[ValueTransition], contexts: ContextWords, looking_up: bool
) -> Text:
    """Each context: its before → after, or what it said without a change."""
    text = Text()
    by_context = {t.context: t for t in transitions}
    names = (*contexts.names, *(name for name in by_context if name not in contexts.names))
    width = max(len(safe_text(name)) for name in names) + 2
    for name in names:
        found = by_context.get(name)
        if found is not None:
            text.append("  " + safe_text(name) + "\n", style="bold")
            text.append_text(_change_lines(found, "    "))
            continue
        text.append("  " + safe_text(name).ljust(width), style="bold")
        if looking_up:
            text.append("looking it up in the journal…\n", style="dim")
        else:
            text.append(contexts.states.get(name, "not known") + "\n", style="dim")
    return text


def detail_text(
    event: FlagEvent,
    transitions: Sequence[ValueTransition],
    time_mode: str,
    environment_names: Mapping[str, str] | None = None,
    *,
    looking_up: bool = False,
    config: Text | None = None,
    contexts: ContextWords = NO_CONTEXTS,
    replayed: Outage | None = None,
) -> Text:
    """Everything known about one event, as plain Text (server text is never markup).

    `transitions`: its value changes, one per context that changed. `looking_up`: they are
    being read from the journal (shown as such meanwhile). `config`: what the event changed in
    the flag's configuration (view/config_diffs.py). `contexts`: the profile's, when several.
    `replayed`: the outage the server replayed the event after (domain/history.py `Replays`).
    """
    text = Text()
    text.append(safe_text(event.type), style=type_style(event.type))
    text.append("  ")
    text.append(safe_text(event.flag_key), style="bold")
    text.append("\n\n")
    env = safe_text(event.environment_id)
    if environment_names and event.environment_id in environment_names:
        env = f"{safe_text(environment_names[event.environment_id])} ({env})"
    rows: list[tuple[str, str]] = [
        (
            "event id",
            safe_text(event.event_id) if event.event_id else "(none: the server sent no id)",
        ),
        ("environment", env),
        ("version", str(event.version)),
        ("server time", fmt_full_time(event.timestamp, time_mode)),
        ("received", fmt_full_time(event.received_at, time_mode)),
        ("lag", f"{fmt_lag(event.received_at - event.timestamp)} (server times are whole seconds)"),
    ]
    if replayed is not None:
        rows.append(("replayed", _replay_words(replayed, time_mode)))
    for label, value in rows:
        text.append(f"{label:<12}", style="dim")
        text.append(value)
        text.append("\n")
    several = len(contexts.names) > 1 or len({t.context for t in transitions}) > 1
    if several:
        count = len({*contexts.names, *(t.context for t in transitions)})
        text.append(f"\nvalues for this profile's {count} contexts\n", style="bold underline")
        text.append_text(_contexts_lines(transitions, contexts, looking_up and not transitions))
    else:
        text.append("\nvalue for this profile's context\n", style="bold underline")
        if not transitions and looking_up:
            text.append("  looking it up in the journal…\n", style="dim")
        elif not transitions:
            text.append("  " + _alone_words(contexts) + "\n", style="dim")
        else:
            text.append_text(_change_lines(transitions[-1]))
    if config is not None:
        text.append_text(config)
    # Not "raw": the fields the monitor validated and keeps (the exports' and `y`'s), with two
    # that the server's data line does not hold.
    text.append("\nevent JSON\n", style="bold underline")
    text.append(EVENT_JSON_NOTE + "\n", style="dim")
    raw = json.dumps(event.to_json(), indent=2, ensure_ascii=False, sort_keys=True)
    text.append(safe_text_lines(raw))
    return text


def _replay_words(outage: Outage, time_mode: str) -> str:
    """Why the lag is the outage's: the server re-sent the event once the stream was back."""
    mode = "utc" if time_mode == "utc" else "local"  # a window reads best as clock times
    start, end = fmt_clock(outage.started_at, mode, 0), fmt_clock(outage.ended_at, mode, 0)
    return f"re-sent after the outage {start}–{end}: it happened then, at the server time"


def safe_text_lines(s: str) -> str:
    """Replace control characters line by line, keeping the newlines of pretty JSON."""
    return "\n".join(safe_text(line) for line in s.split("\n"))


#: The detail's body once the configuration diff is known, given the value changes the journal
#: answered (none: memory's) and whether they are still being read; None while the diff is not
#: known.
Rebuild = Callable[[tuple[ValueTransition, ...], bool], Text | None]
REBUILD_EVERY = 0.25  # seconds
REBUILD_LOOKS = 60  # 15 s: a fetch answers well within that, or not for this event


class EventDetailScreen(ModalScreen[None]):
    BINDINGS = [
        *close_and_help("detail_close"),
        Binding("enter", "dismiss", "Close", show=False, tooltip="Close it too (as it opened)"),
    ]
    HELP_TITLE = "detail of a feed row (enter)"
    OTHER_KEYS = (("up,down,pageup,pagedown", "Scroll"),)

    DEFAULT_CSS = """
    EventDetailScreen { align: center middle; }
    EventDetailScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 80%; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(
        self,
        body: Text,
        title: str = "event",
        *,
        rebuild: Rebuild | None = None,
        looking_up: bool = False,
    ) -> None:
        """`rebuild`: the body once the event's configuration diff is known (it may come a
        moment after the event: the flag is fetched again), None until then; asked a few
        times a second for a while. `looking_up`: the value change is being read meanwhile."""
        super().__init__()
        self.body = body
        self.title_text = title
        self.rebuild = rebuild
        self.transitions: tuple[ValueTransition, ...] = ()  # as the journal answered
        self.looking_up = looking_up
        self.diff_shown = False
        self._looks = 0

    def on_mount(self) -> None:
        if self.rebuild is not None:
            self._timer = self.set_interval(REBUILD_EVERY, self._look, name="detail-diff")

    def _look(self) -> None:
        self._looks += 1
        body = self.rebuild(self.transitions, self.looking_up) if self.rebuild else None
        if body is not None:
            self.diff_shown = True
            self.set_body(body)
        if body is not None or self._looks >= REBUILD_LOOKS:
            self._timer.stop()

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = self.title_text
            scroll.border_subtitle = "esc close"
            yield Static(self.body, id="detail-body")
        yield modal_footer()

    def set_body(self, body: Text) -> None:
        """Replace the text (a value change looked up after the screen opened)."""
        self.body = body
        self.query_one("#detail-body", Static).update(body)

    @on(TransitionLoaded)
    def _transition_loaded(self, message: TransitionLoaded) -> None:
        if self.is_attached:  # not once dismissed
            self.transitions, self.looking_up = message.transitions, False
            rebuilt = None
            if self.diff_shown and self.rebuild is not None:  # the answer predates the diff
                rebuilt = self.rebuild(self.transitions, False)
            self.set_body(rebuilt or message.body)


def marker_detail(item: FeedItem, time_mode: str) -> Text:
    """A marker row (outage, gap, malformed): its text and what the stream item behind it
    says, in words."""
    body = Text()  # the headline bold, not the fields below it (a Text's own style is theirs)
    body.append(safe_text(item.text), style="bold")
    body.append("\n\n")
    if isinstance(item, FoundChange):
        body.append_text(_found_lines(item, time_mode))
        return body
    for label, value in marker_fields(item.source, time_mode):
        body.append(f"{label:<12}", style="dim")
        body.append(value)
        body.append("\n")
    return body


#: Why a change found on re-evaluation is tied to no event.
FOUND_WHY = "none: a re-evaluation of its own found it (after an outage, `r`, or the start)"


def _found_lines(item: FoundChange, time_mode: str) -> Text:
    """A change no event explains (view/found.py): when it was found, each context's before →
    after, and whether it may hold changes the stream did not show."""
    text = Text()
    for label, value in (
        ("flag", safe_text(item.flag_key)),
        ("found", fmt_full_time(item.received_at, time_mode)),
        ("event", FOUND_WHY),
    ):
        text.append(f"{label:<12}", style="dim")
        text.append(value + "\n")
    several = named(item)
    head = "values of the contexts it changed" if several else "value for this profile's context"
    text.append(f"\n{head}\n", style="bold underline")
    indent = "    " if several else "  "
    for transition in item.transitions:
        if several:
            text.append("  " + safe_text(transition.context) + "\n", style="bold")
        text.append_text(_change_lines(transition, indent, f"{UNSEEN_NOTE}: {UNSEEN_WHY}"))
    return text
