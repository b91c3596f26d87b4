"""What `tail`'s text lines add under an event (cli/tail_marks.py, cli/render.py): that the
server replayed it after an outage (the rule of `history`: domain/history.py `Replays`), and
that its own re-evaluation was merged into the next event's (the feed's rule:
ui/view/answers.py). `--json` is left as it was."""

from __future__ import annotations

import io
import json

from msgspec.structs import replace

from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.times import clock
from togul_monitor.domain.events import FlagEvent, Outage
from togul_monitor.domain.flag_config import Change, ConfigDiff
from togul_monitor.domain.values import Evaluation, FlagValue, ValueTransition

T = 1_700_000_000.0  # the outage: down from T to T + 60, decided at T + 60.2
OUTAGE = Outage(T, T + 60, 2, False, T + 60.2)
NAMES = {"env-p": "production", "env-s": "staging"}
ON = Evaluation(True, "boolean", "default", True)


def printer(
    as_json: bool = False, contexts: tuple[str, ...] = ("default",)
) -> tuple[TailPrinter, io.StringIO]:
    out = io.StringIO()
    p = TailPrinter(
        out,
        io.StringIO(),
        as_json=as_json,
        environment_names=NAMES,
        url="http://h/s",
        environment_key="production",
        contexts=contexts,
    )
    return p, out


def event(
    version: int,
    timestamp: float,
    received_at: float,
    *,
    flag: str = "checkout-v2",
    env: str = "env-p",
    kind: str = "rule.updated",
) -> FlagEvent:
    return FlagEvent(kind, flag, env, version, timestamp, str(version), received_at)


def value(stale: bool, flag: str = "checkout-v2", context: str = "default") -> FlagValue:
    return FlagValue(flag, ON, None, T, None, stale, False, None, context)


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


# --- replayed ----------------------------------------------------------------------------------


def test_a_replayed_event_says_so_under_its_line_with_the_servers_time() -> None:
    p, out = printer()
    p.note(OUTAGE)
    p.events([event(16, T + 30, T + 60.3), event(17, T + 60, T + 60.3)])
    p.event(event(18, T + 59, T + 70))  # received past the replay's window: live
    replayed, live, late = [line for line in lines(out) if not line.startswith("  ↳ ")]
    assert lines(out) == [
        replayed,
        f"  ↳ replayed: server time {clock(T + 30)}; received {clock(T + 60.3)}",
        live,  # stamped in the reconnect's second: it may be a live change
        late,
    ]
    assert replayed.startswith(f"{clock(T + 60.3)}", 11) and replayed.endswith("v16")
    assert max(len(line) for line in lines(out)) <= 80


def test_without_an_outage_that_replayed_events_nothing_is_marked() -> None:
    p, out = printer()
    p.note(Outage(T, T + 60, 0, True, T + 60.2))  # nothing replayed: nothing re-sent
    p.note(Outage(T, T + 60, None, True, T + 60.2))  # no Last-Event-ID: nothing replayed
    p.event(event(16, T + 30, T + 60.3))
    assert len(lines(out)) == 1


def test_json_lines_are_left_as_they_were() -> None:
    p, out = printer(as_json=True)
    p.note(OUTAGE)
    p.events([event(16, T + 30, T + 60.3)])
    p.value(value(True))
    p.events([event(17, T + 61, T + 60.4)])
    p.flush()
    # No mark under an event; the outage has a line of its own (test_tail_outage_json.py).
    kinds = [json.loads(line)["kind"] for line in lines(out)]
    assert kinds == ["outage", "event", "event"]


# --- merged ------------------------------------------------------------------------------------


def test_an_event_answered_only_with_the_next_one_says_so_before_that_ones_line() -> None:
    p, out = printer()
    p.event(event(7, T, T))
    p.value(value(True))  # the event marked the value stale
    p.event(event(8, T, T + 0.1))  # before the answer: the two are evaluated together
    p.value(value(False))  # the answer
    p.event(event(9, T + 5, T + 5))  # after it: evaluated on its own
    assert [line[21:] for line in lines(out) if not line.startswith("  ↳ ")] == [
        "rule.updated  checkout-v2  production  v7",
        "rule.updated  checkout-v2  production  v8",
        "rule.updated  checkout-v2  production  v9",
    ]
    assert lines(out)[1] == "  ↳ checkout-v2 (production): v7 evaluated with the next change"
    assert len(lines(out)) == 4


def test_only_events_that_waited_for_an_answer_that_came_with_the_next_are_marked() -> None:
    p, out = printer()
    # Past the flag limit: the monitor publishes no value of the flag, and never evaluates it.
    p.events([event(1, T, T, flag="other"), event(2, T, T, flag="other")])
    # Another environment: its values are not the profile's.
    p.value(value(True, "staged"))
    p.events(
        [event(1, T, T, flag="staged", env="env-s"), event(2, T, T, flag="staged", env="env-s")]
    )
    # A deletion answers the events before it "deleted".
    p.value(value(True))
    p.event(event(7, T, T))
    p.event(event(8, T, T, kind="flag.deleted"))
    assert not [line for line in lines(out) if line.startswith("  ↳ ")]


def test_with_several_contexts_the_line_names_those_that_had_not_answered() -> None:
    p, out = printer(contexts=("premium", "free"))
    p.event(event(7, T, T))
    for context in ("premium", "free"):
        p.value(value(True, context=context))
    p.value(value(False, context="premium"))  # premium answered the first event, free not
    p.event(event(8, T, T))
    p.event(event(9, T, T))  # neither answered the second
    marks = [line for line in lines(out) if line.startswith("  ↳ ")]
    assert marks == [
        "  ↳ checkout-v2 [free] (production): v7 evaluated with the next change",
        "  ↳ checkout-v2 (production): v8 evaluated with the next change",
    ]
    p.merges.narrow(["premium"])  # `--context premium`
    p.value(value(False, context="premium"))
    p.event(event(10, T, T))
    assert len([line for line in lines(out) if line.startswith("  ↳ ")]) == 2


def test_a_merge_line_under_other_lines_names_its_event_and_points_below() -> None:
    """Another flag's event (or its lines, or a status on stderr) printed since the merged
    event: a `↳` there read as that other event's line. It says which event it is about
    (version, time) and that the event it was merged into is the next line."""
    p, out = printer()
    p.event(event(7, T, T))
    p.value(value(True))
    p.event(event(3, T, T + 0.5, flag="pricing"))  # between the two: another flag's event
    p.event(event(8, T, T + 1))
    merged, before = lines(out)[2], lines(out)[1]
    assert before.endswith("pricing  production  v3") and lines(out)[3].endswith("v8")
    assert merged == f"  ↓ checkout-v2 (production): v7 of {clock(T)} evaluated with v8 (below)"
    p.say("live since 12:00:00")  # on stderr, which a terminal shows between them
    p.event(event(9, T, T + 2))
    assert lines(out)[4].startswith("  ↓ checkout-v2 (production): v8 of ")


# --- what an event did, printed after other lines ------------------------------------------------

OFF = Evaluation(False, "boolean", "default", True)
SWITCH = Change("enabled", "changed", True, False)


def answer(flag: str = "checkout-v2", version: int = 7, context: str = "default") -> FlagValue:
    """The re-evaluation's answer to the flag's event `version` (its id, as `event` gives it)."""
    return FlagValue(flag, ON, OFF, T, str(version), False, False, None, context)


def change(
    flag: str = "checkout-v2", version: int | None = 7, context: str = "default"
) -> ValueTransition:
    """What the answer changed, published right after it (core/evaluation.py)."""
    event_id = None if version is None else str(version)
    return ValueTransition(flag, OFF, ON, event_id, T, context)


def test_a_value_line_under_another_flags_event_names_its_own_event() -> None:
    """Two flags' events, then the first one's answer: a `↳` under the second flag's event line
    read as what that event did. It names its event (version, the time its line shows)."""
    p, out = printer()
    p.event(event(7, T, T))
    p.value(value(True))  # the event marked the value stale
    p.event(event(3, T, T + 0.5, flag="pricing"))
    p.value(value(True, "pricing"))
    p.value(answer())
    p.transition(change())
    assert lines(out)[1].endswith("pricing  production  v3")
    assert lines(out)[2] == f"  ↑ checkout-v2 v7 ({clock(T)}): false → true"
    # pricing's own answer: not right under its lines either (a line of another event came).
    p.value(answer("pricing", 3))
    p.transition(change("pricing", 3))
    assert lines(out)[3] == f"  ↑ pricing v3 ({clock(T + 0.5)}): false → true"
    # Right under its event's lines it is `↳`, as it was.
    p.event(event(8, T, T + 1))
    p.value(answer(version=8))
    p.transition(change(version=8))
    assert lines(out)[5] == "  ↳ checkout-v2 (production): false → true"
    assert max(len(line) for line in lines(out)) <= 80


def test_under_its_event_every_contexts_line_is_a_continuation() -> None:
    p, out = printer(contexts=("premium", "free"))
    p.event(event(7, T, T))
    p.value(answer(context="premium"))
    p.transition(change(context="premium"))
    p.value(answer(context="free"))
    p.first_value(answer(context="free"))
    assert lines(out)[1:] == [
        "  ↳ checkout-v2 [premium] (production): false → true",
        "  ↳ checkout-v2 [free] (production): now true (first value, reason default)",
    ]
    # A merge line after an event's value lines is under that event's lines too.
    p.event(event(8, T, T + 1))
    p.value(answer(version=8, context="premium"))
    p.transition(change(version=8, context="premium"))
    p.event(event(9, T, T + 2))
    assert lines(out)[4:6] == [
        "  ↳ checkout-v2 [premium] (production): false → true",
        "  ↳ checkout-v2 [free] (production): v8 evaluated with the next change",
    ]


def test_a_far_line_names_its_context_and_its_environment_when_there_are_several() -> None:
    p, out = printer(contexts=("premium", "free"))
    p.event(event(7, T, T))
    p.value(value(True, context="premium"))
    p.event(event(3, T, T, flag="pricing", env="env-s"))  # another environment's event
    p.value(answer(context="premium"))
    p.transition(change(context="premium"))
    assert lines(out)[2] == f"  ↑ checkout-v2 v7 [premium] (production, {clock(T)}): false → true"


def test_a_first_answer_superseded_by_a_newer_event_is_still_its_own_events() -> None:
    """The first answer of a flag an event created, which came after the flag's next event
    (still stale): its id ties it to its event, not to the one printed last."""
    p, out = printer()
    p.event(event(1, T, T, kind="flag.created"))
    p.value(value(True))
    p.event(event(2, T, T + 1))  # before the answer: merged
    stale = FlagValue("checkout-v2", ON, None, T, "1", True, False, None)
    p.value(stale)
    p.transition(ValueTransition("checkout-v2", None, ON, "1", T, "default"))
    assert lines(out)[-1] == f"  ↑ checkout-v2 v1 ({clock(T)}): ∅ → true"


def test_a_change_found_on_re_evaluation_never_reads_as_the_effect_of_the_event_above() -> None:
    """No event explains it: under another flag's event, or right under its own flag's, a `↳`
    would read as that event's effect. It leads with `·`, as every line that claims no event
    does; so does a diff found on a re-fetch."""
    p, out = printer()
    p.event(event(3, T, T, flag="pricing"))
    p.value(answer())  # no event of checkout-v2 waits: a re-evaluation of its own
    p.transition(change(version=None))
    assert lines(out)[-1] == "  · checkout-v2 (production) [found on re-evaluation]: false → true"
    p.event(event(7, T, T + 1))  # its own flag's event just above: still no claim
    p.value(replace(answer(), trigger_event_id=None))  # a re-evaluation's, not v7's
    p.transition(change(version=None))
    assert lines(out)[-1] == "  · checkout-v2 (production) [found on re-evaluation]: false → true"
    rollout = Change("rules[r2].rollout_percentage", "changed", 25, 50, "r2", 2, "")
    p.config_change(ConfigDiff("checkout-v2", "env-p", None, None, (rollout,)), None, T + 2)
    assert lines(out)[-1].startswith("  · checkout-v2 (production) [found on a re-fetch]: ")


def test_a_value_line_whose_event_is_unknown_claims_none_away_from_its_flags_lines() -> None:
    """A stream without ids, and no answer that ties the value to an event: `↳` right under the
    flag's own lines only; under another flag's event, another environment's, or a status on
    stderr, it would read as theirs."""
    unnamed = FlagEvent("rule.updated", "checkout-v2", "env-p", 7, T, None, T)
    p, out = printer()
    p.event(unnamed)
    p.transition(change(version=None))
    p.event(replace(event(3, T, T + 0.5, flag="pricing"), event_id=None))
    p.transition(change(version=None))
    assert lines(out)[1] == "  ↳ checkout-v2 (production): false → true"
    assert lines(out)[3] == "  · checkout-v2 (production) [event unknown]: false → true"
    p.event(replace(unnamed, environment_id="env-s"))  # the flag, in another environment
    p.transition(change(version=None))
    p.say("live since 12:00:00")
    p.transition(change(version=None))
    assert lines(out)[5:] == ["  · checkout-v2 (production) [event unknown]: false → true"] * 2
    p, out = printer(contexts=("premium", "free"))  # each context's line, under its lines
    p.event(unnamed)
    p.transition(change(version=None, context="premium"))
    p.transition(change(version=None, context="free"))
    assert [line.split(" (")[0] for line in lines(out)[1:]] == [
        "  ↳ checkout-v2 [premium]",
        "  ↳ checkout-v2 [free]",
    ]


def test_a_diff_under_another_flags_event_names_its_own_event() -> None:
    p, out = printer()
    first = event(7, T, T)
    p.event(first)
    p.config_change(ConfigDiff("checkout-v2", "env-p", "7", 7, (SWITCH,)), first, T)
    p.event(event(3, T, T + 0.5, flag="pricing"))
    p.config_change(ConfigDiff("checkout-v2", "env-p", "7", 7, (SWITCH,)), first, T)
    assert lines(out)[1] == "  ↳ checkout-v2 (production): flag switched off"
    assert lines(out)[3] == f"  ↑ checkout-v2 v7 ({clock(T)}): flag switched off"
