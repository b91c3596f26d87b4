"""The status bar's third line: what the snapshot knows (recording, the journal, the plan's
notes) and the TUI once hid."""

from __future__ import annotations

import pytest
from msgspec.structs import replace

from togul_monitor.core import EvaluatorStatus, Monitor, MonitorSnapshot
from togul_monitor.domain.events import ConnectionState, Status, StreamCounters
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.support.plain_errors import PlainError
from togul_monitor.ui.view.status import Note, StatusInfo, status_notes
from togul_monitor.ui.widgets.status_bar import error_below, fit_words, render_status

from .helpers import make_app, make_profile, wait_for, wait_live

BUSY = (
    "not recording: cannot use journal /home/u/.local/share/togul-monitor/journal/prod.sqlite: "
    "another togul-monitor (the TUI or `tail --profile`) is recording "
    "/home/u/.local/share/togul-monitor/journal/prod.sqlite; this one shows the stream without "
    "recording it, so nothing is journalled twice"
)
NO_KEY = "no API key: values are not evaluated (evaluate takes an API key)"


def snapshot(**fields: object) -> MonitorSnapshot:
    base = MonitorSnapshot(
        profile_name="prod",
        environment_key="production",
        status=Status(ConnectionState.LIVE, at=0.0),
        last_heartbeat_at=None,
        counters=StreamCounters(),
        trimmed=0,
        dropped_updates=0,
        recording=True,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def texts(notes: tuple[Note, ...]) -> list[str]:
    return [note.text for note in notes]


def test_a_recording_monitor_without_problems_has_no_notes() -> None:
    assert status_notes(snapshot(), 0.0) == ()
    lines = render_status(StatusInfo(profile="prod"), width=120).plain.split("\n")
    assert len(lines) == 2  # the bar keeps its two lines


def test_each_fact_of_the_snapshot_has_a_note() -> None:
    notes = status_notes(
        snapshot(
            recording=False,
            journal_notice=BUSY,
            recorder_busy=True,
            journal_dropped=3,
            evaluator=EvaluatorStatus(False, "evaluate failed: HTTP 500"),
            notices=(NO_KEY,),
        ),
        0.0,
    )
    assert texts(notes) == [
        "not recording: another process records this profile",
        "journal dropped 3 (writer behind)",
        "evaluate failed: HTTP 500",
        NO_KEY,
    ]
    assert notes[-1].short == "no API key: values are not evaluated"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"recording": False}, "not recording"),
        (
            {"recording": False, "journal_notice": "not recording: the journal writer stopped"},
            "not recording: the journal writer stopped",
        ),
        (
            {
                "journal_notice": "The journal /x could not be opened (bad). It was moved aside.",
                "journal_moved_aside": True,
            },
            "journal damaged or unreadable: moved aside (bytes kept), a new one started",
        ),
        # Rejected credentials have the notice panel; the bar does not say it twice.
        ({"evaluator": EvaluatorStatus(False, "401", credentials_rejected=True)}, None),
    ],
)
def test_journal_and_evaluator_notes(fields: dict[str, object], expected: str | None) -> None:
    notes = texts(status_notes(snapshot(**fields), 0.0))
    assert notes == ([expected] if expected else [])


def test_a_quota_pause_counts_down_to_its_retry() -> None:
    paused = EvaluatorStatus(False, "evaluation quota exhausted", retry_at=1_000.0)
    assert texts(status_notes(snapshot(evaluator=paused), 940.0)) == [
        "evaluation quota exhausted: retrying in 60 s"
    ]
    assert texts(status_notes(snapshot(evaluator=paused), 999.2)) == [
        "evaluation quota exhausted: retrying in 1 s"
    ]
    assert texts(status_notes(snapshot(evaluator=paused), 1_005.0)) == [
        "evaluation quota exhausted: retrying in 0 s"
    ]


def test_the_notes_line_fits_80_columns_cut_between_words() -> None:
    notes = status_notes(
        snapshot(recording=False, journal_notice=BUSY, recorder_busy=True, notices=(NO_KEY,)), 0.0
    )
    info = StatusInfo(profile="prod", environment="production", notes=notes)
    wide = render_status(info, narrow=False, width=80).plain.split("\n")[2]
    assert wide == (" not recording: another process records this profile  no API key: values are…")
    narrow = render_status(info, narrow=True, width=80).plain.split("\n")[2]
    assert narrow == " not recording: recorded elsewhere  no API key: values are not evaluated"


def test_fit_words_cuts_inside_a_word_only_when_it_is_one_long_word() -> None:
    from rich.text import Text

    assert fit_words(Text("abc defgh"), 8).plain == "abc…"
    assert fit_words(Text("a" * 20), 8).plain == "a" * 7 + "…"
    assert fit_words(Text("short"), 8).plain == "short"


@pytest.mark.parametrize(("size", "expected"), [((120, 40), "another process"), ((80, 24), "")])
async def test_the_status_bar_says_when_another_process_records_the_profile(
    emulator: EmulatorHandle, size: tuple[int, int], expected: str
) -> None:
    profile = make_profile(emulator)
    recorder = Monitor(profile)  # started first: it holds the profile's journal
    await recorder.start()
    try:
        assert recorder.snapshot().recording
        app = make_app(profile)
        async with app.run_test(size=size) as pilot:
            await wait_live(pilot, app)
            status = app.query_one("#status")
            await wait_for(
                pilot, lambda: "not recording" in str(status.render()), what="the marker"
            )
            assert app.monitor is not None and not app.monitor.snapshot().recording
            # The bar grows to three lines at the next layout: read them once it has.
            await wait_for(pilot, lambda: status.size.height == 3, what="the third line")
            await wait_for(
                pilot,
                lambda: status.render_line(2).text.startswith(" not recording: "),
                what="the third line painted",
            )
            lines = [status.render_line(y).text.rstrip() for y in range(3)]
            assert expected in lines[2]
            assert "shown" in lines[1] and "drop" in lines[1]  # the counts stay visible
    finally:
        await recorder.stop()


def test_a_monitor_reading_a_shared_journal_says_so() -> None:
    from togul_monitor.store.reading import READ_ONLY_NOTICE

    notes = status_notes(
        snapshot(recording=False, journal_notice=READ_ONLY_NOTICE, recorder_busy=True), 0.0
    )
    assert texts(notes) == ["reading the shared journal (togul-monitor record writes it)"]
    assert notes[0].short == "reading the shared journal"


def test_a_connection_waiting_for_its_first_byte_is_not_live() -> None:
    from togul_monitor.client.attempt import NO_DATA_YET

    waiting = StatusInfo(profile="prod", environment="production", state=ConnectionState.CONNECTING)
    waiting.error = PlainError(NO_DATA_YET)
    first = render_status(waiting, width=120).plain.split("\n")[0]
    assert "◌ connected, no data yet: the last connection went silent" in first
    assert "● live" not in first


def test_the_values_pane_says_its_values_may_be_out_of_date_while_not_live() -> None:
    from togul_monitor.ui.view.doubt import doubt_of
    from togul_monitor.ui.view.status import values_titles

    live = snapshot()
    down = snapshot(status=Status(ConnectionState.RETRYING, at=5.0, attempt=2, error="503"))
    doubt = doubt_of(down, None)
    assert doubt_of(live, None) is None and values_titles(("default",), live) == ("values", "")
    assert values_titles(("default",), down, doubt=doubt)[0] == "values · not live: may be stale"
    several = ("default", "free", "eu")
    # First: a border title is cut at its end (80 columns kept `values · 3 contexts · not li…`).
    title = values_titles(several, down, 3, doubt=doubt)[0]
    assert title == "values · not live: may be stale · 3 contexts"
    eight = ("default", "b", "c", "d", "e", "f", "g", "h")
    title, subtitle = values_titles(eight, down, 4, doubt=doubt)
    assert title == "values · not live: may be stale · 8 contexts (4 shown)"
    assert subtitle.startswith("not shown: e, f, g, h (widen, or y copies all) · ")


def test_with_no_monitor_after_a_failed_switch_the_values_pane_says_they_may_be_stale() -> None:
    # The values pane kept the profile before's values under a bare `values` title: no
    # snapshot (no monitor) read as "nothing to say".
    from togul_monitor.ui.view.doubt import STOPPED_NOTE, doubt_of
    from togul_monitor.ui.view.status import values_titles

    assert doubt_of(None, None) is None and values_titles(("default",), None) == ("values", "")
    title, _ = values_titles(("default", "free"), None, 2, doubt=doubt_of(None, None, True))
    assert title == f"values · {STOPPED_NOTE} · 2 contexts"


def test_an_environment_nothing_could_check_is_not_vouched_for() -> None:
    # A key of scope stream without a token: the profile says production, nothing checked it.
    from togul_monitor.config.profiles import Profile
    from togul_monitor.ui.view.feed_store import FeedStore
    from togul_monitor.ui.view.status import status_info

    profile = Profile(name="strwrong", base_url="http://127.0.0.1:1", environment_key="production")
    status = Status(ConnectionState.LIVE, at=0.0)

    def header(verified: bool, width: int) -> str:
        info = status_info(
            profile=profile,
            status=status,
            switching=False,
            store=FeedStore(),
            snapshot=snapshot(environment_verified=verified),
            now=0.0,
        )
        return render_status(info, narrow=width < 100, width=width).plain.split("\n")[0]

    assert header(False, 120).startswith(" strwrong / production (not verified)  ● live")
    assert header(False, 80).startswith(" strwrong / production?  ● live")
    assert header(True, 120).startswith(" strwrong / production  ● live")


def test_the_contexts_not_shown_and_how_to_see_them_fit_the_border() -> None:
    # 120 columns, 8 contexts: the border (42 cells) read `not shown:
    # verylongcontextnamethatgoeson,…`: `us, x` and the way to see them were cut off.
    from togul_monitor.ui.view.status import not_shown, values_titles

    hidden = ("verylongcontextnamethatgoeson", "us", "x")
    eight = ("default", "premium", "free", "eu", "beta", *hidden)
    _, subtitle = values_titles(eight, snapshot(), 5, width=42)
    assert subtitle == "3 not shown: verylo…, us, x (y copies all)"
    # Room for the whole: said as before, then the requests when they fit too.
    whole = "not shown: verylongcontextnamethatgoeson, us, x (widen, or y copies all)"
    assert not_shown(hidden, 200) == not_shown(hidden) == whole
    assert values_titles(eight, snapshot(), 5, width=200)[1].startswith(whole + " · ")
    assert values_titles(eight, snapshot(), 5, width=len(whole))[1] == whole
    # Narrower: the last names give way to `…`, then all but the count and the key.
    many = ("alpha", "bravo", "charlie", "delta", "echo")
    for width in range(10, 80):
        assert len(not_shown(hidden, width)) <= width
        assert len(not_shown(many, width)) <= width
    assert not_shown(many, 40) == "5 not shown: alpha, … (y copies all)"
    assert not_shown(many, 44) == "5 not shown: alpha, bravo, … (y copies all)"
    assert not_shown(hidden, 32) == "3 not shown (y copies all)"


def test_an_unreachable_host_reads_as_tail_says_it_and_whole_at_80_columns() -> None:
    """Before, the bar showed the HTTP library's raw text, cut to nothing at 80 columns
    (`retrying in 6s (cannot connect: All…)`), where `tail` said what it meant. Then the reason
    alone, and the address it is about was lost: the modes give way to both, and where the first
    line still cannot hold them they take the third line, before the notes."""
    from togul_monitor.config.profiles import Profile
    from togul_monitor.ui.view.feed_store import FeedStore
    from togul_monitor.ui.view.status import status_info

    profile = Profile("dead", "http://127.0.0.1:9", "production")
    error = "cannot connect: All connection attempts failed"
    down = Status(ConnectionState.RETRYING, at=1.0, attempt=3, next_try_at=7.0, error=error)
    shown = snapshot(profile_name="dead", status=down)
    info = status_info(
        profile=profile, status=down, switching=False, store=FeedStore(), snapshot=shown, now=1.0
    )
    info.environment_verified = False
    wide = render_status(info, width=200).plain.split("\n")[0]
    assert "(nothing accepted the connection: 127.0.0.1:9)" in wide, wide
    lines = render_status(info, narrow=True, width=80).plain.split("\n")
    assert lines[0] == " dead / production?  ◌ retrying in 6s  time local", lines
    assert lines[2] == " nothing accepted the connection: 127.0.0.1:9", lines
    info.notes = (Note("not recording", "not recording"),)
    lines = render_status(info, narrow=True, width=80).plain.split("\n")
    assert lines[2] == " nothing accepted the connection: 127.0.0.1:9  not recording", lines
    # Room for it once the modes give way: on the first line, whole, the modes cut.
    first, *rest = render_status(info, narrow=True, width=85).plain.split("\n")
    assert first.endswith("retrying in 6s (nothing accepted the connection: 127.0.0.1:9)…"), first
    assert rest == [rest[0], " not recording"]
    # An address longer than a line of its own: the reason alone, whole, on the first line.
    far = Profile("dead", f"http://{'far' * 20}.example:9", "production")
    info = status_info(
        profile=far, status=down, switching=False, store=FeedStore(), snapshot=shown, now=1.0
    )
    first = render_status(info, narrow=True, width=80).plain.split("\n")[0]
    assert "retrying in 6s (nothing accepted the connection) " in first, first
    assert len(first) <= 80


async def test_at_80_columns_the_bar_shows_an_unreachable_address_and_why() -> None:
    """The real app at 80×24: the bar's third line says what failed and where, and the bar grows
    to show it."""
    from togul_monitor.config.profiles import Profile

    app = make_app(Profile("dead", "http://127.0.0.1:9", "production", api_key="k"))
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one("#status")

        def painted() -> list[str]:
            return [status.render_line(y).text for y in range(status.size.height)]

        await wait_for(pilot, lambda: "127.0.0.1:9" in "".join(painted()), what="the address")
        lines = painted()
        assert "◌ retrying" in lines[0], lines
        assert "nothing accepted the connection: 127.0.0.1:9" in lines[2], lines


@pytest.mark.parametrize(
    "state",
    [ConnectionState.LIVE, ConnectionState.CONNECTING],
    ids=["live", "connected-no-data-yet"],
)
def test_at_80_columns_a_long_profile_name_gives_way_to_paused_and_the_filter(
    state: ConnectionState,
) -> None:
    name = "payments-platform-production-eu-west-1-canary"
    info = StatusInfo(
        profile=name,
        environment="production",
        state=state,
        error=PlainError("connected, no data yet") if state is ConnectionState.CONNECTING else None,
        paused=True,
        paused_new=3,
        pending=3,
        filter_text="type:flag",
    )
    first = render_status(info, narrow=True, width=80).plain.split("\n")[0]
    assert len(first) <= 80
    assert "PAUSED +3 new" in first and "production" in first
    assert name not in first and first.startswith(f" {name[:7]}") and "… / production" in first
    if state is ConnectionState.LIVE:
        assert "filter: type:flag" in first
    # With room to spare, the name is whole.
    assert name in render_status(info, narrow=True, width=200).plain.split("\n")[0]


@pytest.mark.parametrize("paused", [False, True], ids=["following", "paused"])
def test_the_bar_has_the_lines_its_height_was_given_whatever_the_modes(paused: bool) -> None:
    """The bar's height comes from `error_below`, which sees no modes (they are the screen's):
    the error's line must not come and go with PAUSED or the filter."""
    for name in ("prod", "payments-platform-production-eu-west-1-canary"):
        info = StatusInfo(
            profile=name,
            environment="production",
            state=ConnectionState.RETRYING,
            retry_in=5,
            # On the first line once the name is cut.
            error=PlainError("cannot connect to 10.0.0.1:9", "nothing accepted", "10.0.0.1:9"),
        )
        lines = 2 + error_below(info, True, 80)
        shown = replace(info, paused=paused, paused_new=3, pending=3, filter_text="type:flag")
        assert len(render_status(shown, narrow=True, width=80).plain.split("\n")) == lines


async def test_a_rejected_key_is_said_by_the_bar_without_a_not_verified_mark(
    emulator: EmulatorHandle,
) -> None:
    """A key the server does not know: the probe's 401 is no question of environment. The bar
    says the rejection, not `production (not verified)` nor `environment not verified`."""
    from togul_monitor.config.profiles import Profile

    wrong = Profile(
        "wrongkey", emulator.base_url, "production", api_key="tgl_sdk_wrongwrongwrongwrong0000"
    )
    app = make_app(wrong)
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.query_one("#status")

        def painted() -> str:
            return "\n".join(status.render_line(y).text for y in range(status.size.height))

        await wait_for(pilot, lambda: "credentials rejected" in painted(), what="the rejection")
        assert app.monitor is not None
        snapshot = app.monitor.snapshot()  # what the bar painted it from, and anything later
        assert snapshot.environment_verified
        assert not any("not verified" in note for note in snapshot.notices), snapshot.notices
        assert "not verified" not in painted(), painted()
        assert "HTTP 401 unauthorized: Invalid or revoked API key" in painted(), painted()
