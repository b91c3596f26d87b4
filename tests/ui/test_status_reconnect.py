"""An unreachable host at 80 columns: the status bar's third line (the error, whole) stays
through the reconnect cycle. Each attempt (`◌ connecting`, no error) dropped it, and the next
failure brought it back: every pane moved by a line, and the screen was laid out again, each
cycle. The countdown's digits (`in 10s`, `in 9s`) could flip it too."""

from __future__ import annotations

from dataclasses import replace

from textual.app import App, ComposeResult

from togul_monitor.config.profiles import Profile
from togul_monitor.core import MonitorSnapshot
from togul_monitor.domain.events import ConnectionState, Status, StreamCounters
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.status import StatusInfo, status_info
from togul_monitor.ui.widgets.status_bar import StatusBar, render_status

DEAD = Profile("dead", "http://127.0.0.1:9", "production")
ERROR = "cannot connect: All connection attempts failed"
SAID = "nothing accepted the connection: 127.0.0.1:9"  # as `tail` says it (plain_errors.py)
RETRYING, CONNECTING, LIVE = (
    ConnectionState.RETRYING,
    ConnectionState.CONNECTING,
    ConnectionState.LIVE,
)


def status(state: ConnectionState, retry_in: float = 10.0) -> Status:
    if state is RETRYING:
        return Status(state, at=100.0, attempt=3, next_try_at=100.0 + retry_in, error=ERROR)
    return Status(state, at=100.0)


def info_of(
    now: Status, before: StatusInfo | None, profile: Profile = DEAD, switching: bool = False
) -> StatusInfo:
    snapshot = MonitorSnapshot(
        profile_name=profile.name,
        environment_key="production",
        status=now,
        last_heartbeat_at=None,
        counters=StreamCounters(),
        trimmed=0,
        dropped_updates=0,
        recording=True,
        environment_verified=False,
    )
    return status_info(
        profile=profile,
        status=now,
        switching=switching,
        store=FeedStore(),
        snapshot=snapshot,
        now=100.0,
        before=before,
    )


#: One reconnect cycle and a half: the countdown, the attempt, the next failure.
CYCLE = [
    status(RETRYING, 10.4),
    status(RETRYING, 9.4),
    status(CONNECTING),
    status(RETRYING, 10.4),
    status(RETRYING, 0.4),
    status(CONNECTING),
]


def test_the_bar_keeps_its_height_through_a_reconnect_cycle_at_every_width() -> None:
    for width in range(60, 140):
        for narrow in (False, True):
            infos: list[StatusInfo] = []
            for now in CYCLE:
                infos.append(info_of(now, infos[-1] if infos else None))
            shown = [render_status(info, narrow, width).plain.split("\n") for info in infos]
            assert len({len(lines) for lines in shown}) == 1, (width, narrow, shown)
            for lines, info in zip(shown, infos, strict=True):
                text = "\n".join(lines)
                # The error (else its reason, whole) stays readable, the last attempt's said so.
                assert SAID in text or "nothing accepted the connection" in text, (width, text)
                assert ("last attempt: " in text) is (info.state is CONNECTING), text


def test_at_80_columns_the_last_error_keeps_the_third_line_until_live() -> None:
    retrying = info_of(status(RETRYING), None)
    assert render_status(retrying, True, 80).plain.split("\n")[2] == f" {SAID}"
    connecting = info_of(status(CONNECTING), retrying)
    lines = render_status(connecting, True, 80).plain.split("\n")
    assert "◌ connecting" in lines[0] and lines[2] == f" last attempt: {SAID}", lines
    again = info_of(status(CONNECTING), connecting)  # a connect timeout: seconds of it
    assert render_status(again, True, 80).plain == render_status(connecting, True, 80).plain
    # Live again: the error is gone, and the third line with it.
    live = info_of(status(LIVE), again)
    assert live.last_error is None and len(render_status(live, True, 80).plain.split("\n")) == 2
    assert info_of(status(CONNECTING), live).last_error is None  # a later attempt has none
    # Another profile: the error was the one before's.
    other = replace(DEAD, name="other")
    assert info_of(status(CONNECTING), connecting, other).last_error is None
    assert info_of(status(CONNECTING), connecting, switching=True).last_error is None


class Bar(App[None]):
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")


async def test_the_painted_bar_keeps_three_lines_while_it_reconnects() -> None:
    app = Bar()
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(StatusBar)
        bar.narrow = True  # the main screen's below 100 columns
        painted: list[tuple[int, str]] = []
        for now in CYCLE * 2:
            bar.info = info_of(now, bar.info)
            await pilot.pause()
            painted.append((bar.size.height, bar.render_line(2).text.rstrip()))
        assert {height for height, _ in painted} == {3}, painted
        assert all(third.endswith(SAID) for _, third in painted), painted
