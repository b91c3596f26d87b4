"""What an event did in each of the profile's contexts, when it evaluates for several.

A profile may evaluate its flags for several named contexts (`premium`, `free`, `eu`, …): one
event can then change the value in some of them and not in others, and each context answers on
its own. A feed row names the contexts in brackets: `[premium] false → true; [free, eu]
unchanged`, and is honest about the ones that have not answered yet: `[free] unchanged; [eu]
evaluating…` (a context whose re-evaluation is pending is not "unchanged"). Where the row is
narrow it shows as many changes as fit, the value changes first, and counts the contexts it
leaves out: `[premium] false → true; [eu] false → true +1 more`, `[premium] false → true +2
changed` (their values changed, not only their reasons), `+2 unchanged` when they are, `+1
changed +1 more` for both (`fewer`, `left_out`): a value change is never hidden under
`more`. That count and any configuration diff after it get only what the values leave, cut
with `…`. The event detail lists every context (`context_states`).

With one context none of this applies: the row says what it always said (view/feed_layout.py).
Context names are the user's configuration and are shown as plain text. Textual-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.merged import WITH_NEXT
from togul_monitor.domain.values import ValueTransition
from togul_monitor.support.text import safe_text
from togul_monitor.ui.view.answers import Answer, ValueAnswers
from togul_monitor.ui.view.change import Part, Parts, transition_parts, value_text
from togul_monitor.ui.view.rings import real_change

CONTEXT_STYLE = "italic"
SEPARATOR = Part("; ", "dim")

#: A context's state without a value change, as a row says it after the context names
#: (in this order after the changes), and as the detail says it.
STATE_WORDS: dict[str, str] = {
    "unchanged": "unchanged",
    "with-next": WITH_NEXT,
    "deleted": "deleted",
    "unmonitored": "not evaluated: flag limit reached",
    "evaluating": "evaluating…",
    "not-evaluated": "not evaluated",
}
SHORT_WORDS: dict[str, str] = {"with-next": "see next", "unmonitored": "flag limit"}


def in_context_order(
    transitions: Iterable[ValueTransition], contexts: Sequence[str]
) -> tuple[ValueTransition, ...]:
    """`transitions` in the profile's order of `contexts` (one not named there last)."""
    order = {name: index for index, name in enumerate(contexts)}
    return tuple(sorted(transitions, key=lambda t: order.get(t.context, len(order))))


def context_state(
    event: FlagEvent, answers: ValueAnswers, context: str
) -> tuple[str, Answer | None]:
    """What `context` says of `event` without a value change: its answer's state, `evaluating`
    while it waits, `not-evaluated` when nothing will answer, `` when nothing is known (the
    event arrived before this view could follow it)."""
    answer = answers.answer(event, context)
    if answer is not None:
        return answer.state, answer
    if not answers.evaluates or answers.halted or not answers.concerns(event):
        return "not-evaluated", None
    if answers.waiting(event, context):
        return "evaluating", None
    return "", None


def context_states(
    event: FlagEvent, answers: ValueAnswers, transitions: Sequence[ValueTransition]
) -> dict[str, str]:
    """Each context without a value change → what the detail says of it (`unchanged`,
    `evaluating…`, …; `not known` when nothing is)."""
    changed = {t.context for t in transitions}
    states: dict[str, str] = {}
    for context in answers.contexts:
        if context in changed:
            continue
        state, answer = context_state(event, answers, context)
        if state == "first" and answer is not None:
            states[context] = f"first value: {value_text(answer.value)}"
        else:
            states[context] = STATE_WORDS.get(state, "not known (received before this view)")
    return states


def _style(state: str) -> str:
    return "dim italic" if state == "evaluating" else "red" if state == "deleted" else "dim"


def _name(context: str) -> Part:
    return _names((context,))[0]


def named_change(transition: ValueTransition) -> Parts:
    """`[premium] false → true`: one context's change, named as every row names it."""
    return (_name(transition.context), Part(" "), *transition_parts(transition))


def left_out(changed: int, others: int, alike: bool = False) -> Parts:
    """How a row counts the contexts it leaves out after the changes it shows: `+1 changed`
    for those whose value changed (not only its reason, nor a first value), then the others,
    `+2 unchanged` when they all are and none changed (`alike`), `+2 more` otherwise: `+1
    changed +1 more`. A
    value change is never counted among the `more`. Only what the values leave (rank 3): the
    changes shown are the news, the count comes after."""
    parts: list[Part] = []
    if changed:
        parts.append(Part(f" +{changed} changed", "dim", cut=3))
    if others:
        parts.append(Part(f" +{others} {'unchanged' if alike else 'more'}", "dim", cut=3))
    return tuple(parts)


def fewer(
    changes: Sequence[Parts], moved: Sequence[bool], states: Sequence[str] = ()
) -> list[Parts]:
    """The row said with fewer of its `changes`, most first, down to one: each the changes it
    keeps (value changes before the others: they are the news; shown in context order) and how
    many it leaves out (`left_out`). `moved`: for each change, whether its value changed;
    `states`: those of the contexts without a change, one a context."""
    order = sorted(range(len(changes)), key=lambda index: not moved[index])
    forms: list[Parts] = []
    for shown in range(len(changes), 0, -1):
        rest = order[shown:]
        changed = sum(1 for index in rest if moved[index])
        others = len(rest) - changed + len(states)
        if not changed and not others:
            continue  # every change and no state: the long form
        alike = not rest and set(states) == {"unchanged"}  # `+1 changed +1 more`, shorter
        kept = joined([changes[index] for index in sorted(order[:shown])])
        forms.append((*kept, *left_out(changed, others, alike)))
    return forms


def _names(contexts: Sequence[str]) -> Parts:
    """`[free, eu]`: in brackets, as `y` and `tail` name a context, so that a context called
    `default` never reads as the flag's default value (`default 30→15` in a configuration
    diff on the same row)."""
    return (Part(f"[{', '.join(safe_text(name) for name in contexts)}]", CONTEXT_STYLE),)


def joined(groups: Sequence[Parts]) -> Parts:
    """The contexts' parts one after another, `; ` between them."""
    parts: list[Part] = []
    for index, group in enumerate(groups):
        if index:
            parts.append(SEPARATOR)
        parts.extend(group)
    return tuple(parts)


def contexts_change(
    event: FlagEvent, answers: ValueAnswers, transitions: Sequence[ValueTransition]
) -> tuple[Parts, ...] | None:
    """What a row of a profile with several contexts says, its long form first, then shorter
    ones for narrower rows, each showing fewer changes (`fewer`); None when no context has
    anything to say yet (the row then says why, as with one context)."""
    by_context = {t.context: t for t in transitions}
    changes: list[Parts] = []
    moved: list[bool] = []  # for each of `changes`: the value itself changed (not a first one)
    states: dict[str, list[str]] = {}
    for context in answers.contexts:
        found = by_context.pop(context, None)
        if found is not None:
            changes.append(named_change(found))
            moved.append(real_change(found))
            continue
        state, answer = context_state(event, answers, context)
        if state == "first" and answer is not None:
            first = Part(value_text(answer.value), "bold", cut=1)
            lead = "∅ → " if event.type == "flag.created" else "now "
            changes.append((_name(context), Part(" " + lead, "dim"), first))
            moved.append(False)
        elif state:
            states.setdefault(state, []).append(context)
    for found in by_context.values():  # a context the view was not told of: still a change
        changes.append(named_change(found))
        moved.append(real_change(found))
    if not changes and not any(s not in ("evaluating", "not-evaluated") for s in states):
        return None  # nothing answered yet: the one-context words say it
    if not changes and len(states) == 1:
        only, alike = next(iter(states.items()))
        if len(alike) == len(answers.contexts):  # every context alike: no names needed
            word = STATE_WORDS[only]
            said = f"{word} for all {len(alike)} contexts" if only == "unchanged" else word
            style = _style(only)
            return (Part(said, style, cut=1),), (Part(SHORT_WORDS.get(only, word), style, cut=1),)
    groups = [
        (*_names(states[state]), Part(" " + STATE_WORDS[state], _style(state)))
        for state in STATE_WORDS
        if state in states
    ]
    long = joined([*changes, *groups])
    if changes:
        alone = [state for state, named in states.items() for _ in named]
        return (long, *fewer(changes, moved, alone))
    state = next(s for s in STATE_WORDS if s in states)
    word = SHORT_WORDS.get(state, STATE_WORDS[state])
    head = (*_names(states[state]), Part(" " + word, _style(state)))
    more = sum(len(named) for named in states.values()) - len(states[state])
    if more <= 0:
        return long, head
    return long, (*head, *left_out(0, more))
