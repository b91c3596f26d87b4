"""The environment matrix (`c`): every flag × every environment, cells that differ from the
profile's environment marked, `d` keeps only the flags that differ, an edit seen on the stream
updates its row, `enter` shows the flag side by side."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from textual.app import App
from textual.widgets import DataTable, Footer, Static
from textual.widgets._footer import FooterKey

from togul_monitor.config.profiles import Profile
from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.flag_config import FlagConfig, RuleConfig
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.screens import env_diff, env_matrix
from togul_monitor.ui.screens.env_diff import (
    DiffRead,
    EnvDiffScreen,
    hidden_below,
    more_below,
    read_state,
    rows_below,
    side_width,
    table_height,
)
from togul_monitor.ui.screens.env_matrix import EnvMatrixScreen
from togul_monitor.ui.screens.help import screen_help_rows

from .helpers import make_app, make_profile, wait_for, wait_live

# The seeded staging runs ahead of production: wider rollouts, the banner on.
DIFFERING = {
    "checkout-button-color",
    "checkout-v2",
    "homepage-layout",
    "maintenance-banner",
    "new-onboarding",
    "realtime-notifications",
    "recommendation-model",
    "retry-backoff-ms",
}


def cells(screen: EnvMatrixScreen, flag: str) -> list[str]:
    table: DataTable[Any] = screen.table
    return [cell.plain for cell in table.get_row_at(screen.keys.index(flag))]


async def test_c_opens_the_matrix_marks_filters_and_follows_an_edit(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(env_matrix, "LOOK_EVERY", 0.05)
    monkeypatch.setattr(env_diff, "LOOK_EVERY", 0.05)
    profile = dataclasses.replace(
        make_profile(emulator), name="test-token", token=emulator.credentials.org_token
    )
    app = make_app(profile)
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, EnvMatrixScreen), what="matrix")
        screen = app.screen
        assert isinstance(screen, EnvMatrixScreen)
        await wait_for(pilot, lambda: screen.reads == 1 and screen.keys, what="the first read")
        assert (screen.env_a, screen.env_b) == ("production", "staging")
        assert len(screen.keys) == 23
        flag, production, staging, summary = cells(screen, "checkout-v2")
        assert not production.startswith("≠") and staging.startswith("≠ on false")
        assert summary == "rollout 25% → 60% · rule 2"
        assert cells(screen, "dark-mode")[2].startswith("on true")  # the same: not marked
        header = str(screen.query_one("#matrix-state", Static).render())
        assert "A production ↔ B staging" in header and "refreshed" in header

        await pilot.press("d")
        assert set(screen.keys) == DIFFERING
        # The banner is on in staging; switching it on in production (on the monitor's stream)
        # makes the two equal: its row goes from the differing ones.
        emulator.world.update_flag("production", "maintenance-banner", enabled=True)
        await wait_for(
            pilot, lambda: "maintenance-banner" not in screen.keys, what="the edit re-read"
        )
        assert screen.reads == 2  # one re-read of that flag, not a read of everything
        await pilot.press("d")
        assert cells(screen, "maintenance-banner")[3] == "same"

        screen.table.move_cursor(row=screen.keys.index("checkout-v2"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, EnvDiffScreen), what="the diff")
        diff = app.screen
        assert isinstance(diff, EnvDiffScreen)
        assert (
            "rule 2 / 2",
            "percentage by user_id 25% → true",
            "percentage by user_id 60% → true",
            True,
        ) in diff.lines
        words = "\n".join(diff.differences_shown())
        assert "rollout 25% → 60%" in words
        labels = [diff.table.get_row_at(i)[0].plain for i in range(diff.table.row_count)]
        assert "  description" in labels, labels  # whole, not `descripti…`
        state = str(diff.query_one("#env-diff-state", Static).render())
        assert state.startswith("read ") and "r reads again now" in state, state
        # Open, it follows the matrix's reads: an edit is shown once read, not the old value.
        emulator.world.update_flag("production", "checkout-v2", default_value=True)
        await wait_for(
            pilot, lambda: ("default", "true", "false", True) in diff.lines, what="the edit"
        )
        await pilot.press("escape")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main, what="back to the main screen")


class Bare(App[None]):
    """Only the matrix, without a monitor (no events to follow): its reads alone."""

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self.profile = profile

    def on_mount(self) -> None:
        self.push_screen(EnvMatrixScreen(self.profile, lambda: None, time.time))


async def test_a_refused_token_is_said_in_the_header_and_not_retried_at_every_look(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(env_matrix, "LOOK_EVERY", 0.01)
    profile = dataclasses.replace(make_profile(emulator), name="bad-token", token="not-a-token")
    app = Bare(profile)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, EnvMatrixScreen), what="matrix")
        screen = app.screen
        assert isinstance(screen, EnvMatrixScreen)
        await wait_for(pilot, lambda: screen.reads == 1, what="the failed read")
        header = str(screen.query_one("#matrix-state", Static).render())
        assert header.startswith("failed: management API answered HTTP 401"), header
        for _ in range(5):  # five looks later: still the one read, the retry waits
            await pilot.pause(0.02)
        assert screen.reads == 1 and not screen.busy


async def test_the_periodic_check_is_one_listing_and_the_flags_that_moved(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(env_matrix, "LOOK_EVERY", 0.01)
    monkeypatch.setattr(env_matrix, "CHECK_EVERY", 0.02)
    profile = dataclasses.replace(
        make_profile(emulator), name="test-token", token=emulator.credentials.org_token
    )
    app = Bare(profile)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, EnvMatrixScreen), what="matrix")
        screen = app.screen
        assert isinstance(screen, EnvMatrixScreen)
        # A check follows every 20 ms: under load `reads` may be past 1 by the next poll, so wait
        # for "read at least once"; the checks since moved nothing, so fetched nothing more.
        await wait_for(pilot, lambda: screen.reads >= 1 and screen.project, what="first read")
        project = screen.project
        assert project is not None
        flags = f"/api/v1/projects/{project.project_id}/flags/"
        every = emulator.requests.count("GET", flags)
        assert every == sum(len(c) for c in project.configs.values())
        await wait_for(pilot, lambda: screen.reads >= 3, what="two checks")
        assert emulator.requests.count("GET", flags) == every  # nothing moved: no fetch
        emulator.world.update_flag("staging", "dark-mode", enabled=False)  # A: production
        await wait_for(
            pilot, lambda: cells(screen, "dark-mode")[2].startswith("≠"), what="the change"
        )
        assert emulator.requests.count("GET", flags) == every + 1
        header = str(screen.query_one("#matrix-state", Static).render())
        assert "all every 5m" in header


async def test_without_a_token_the_matrix_says_why(emulator: EmulatorHandle) -> None:
    """Before, `r` sent the read with an empty Bearer and the header said `failed: management
    API unreachable: LocalProtocolError`, and the footer offered keys that could do nothing."""
    app = Bare(make_profile(emulator))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, EnvMatrixScreen), what="matrix")
        screen = app.screen
        assert isinstance(screen, EnvMatrixScreen)

        def header() -> str:
            return str(screen.query_one("#matrix-state", Static).render())

        assert "needs a token profile" in header()
        footer = {key.description for key in screen.query_one(Footer).query(FooterKey)}
        assert footer == {"Close", "Help"}, footer
        for key in ("r", "a", "b", "d"):
            await pilot.press(key)
            await pilot.pause()
            assert not screen.busy and screen.reads == 0, key  # nothing was sent
            assert "needs a token profile" in header(), (key, header())
        screen.action_refresh_all()  # any read path, not only the keys
        await pilot.pause()
        assert not screen.busy and screen.reads == 0
        assert "needs a token profile" in header()
        # Nor does its help list them: it listed d, a, b, r and enter.
        offered = {keys for keys, _, _ in screen_help_rows(screen, {})}
        assert offered == {"esc q", "? f1"}, offered


class Log:
    """A monitor's event log as the matrix reads it (`rows_since`): `rows` appended by the test."""

    def __init__(self) -> None:
        self.rows: list[object] = []

    def rows_since(self, position: int) -> tuple[list[object], int]:
        return self.rows[min(position, len(self.rows)) :], len(self.rows)


def test_events_of_ever_new_flags_keep_the_pending_reads_bounded() -> None:
    log = Log()
    monitor: Any = log  # what of a MonitorHandle the matrix reads
    screen = EnvMatrixScreen(Profile("t", "http://x", "production"), lambda: monitor, time.time)
    screen._catch_up()  # from now on
    screen._full_at = time.time() + 3600
    for start in range(0, 50_000, 5_000):
        log.rows.extend(
            FlagEvent("flag.updated", f"f{n}", "env", 1, 0.0, None, 0.0)
            for n in range(start, start + 5_000)
        )
        screen._catch_up()
        assert len(screen._pending) <= env_matrix.MAX_PENDING
    assert screen._full_at == 0.0  # one read of everything instead of 50,000 re-reads


def test_every_read_is_stamped_by_the_screens_clock(emulator: EmulatorHandle) -> None:
    # The header's age is the screen's clock less the read's time: both on one clock (a fixed
    # clock showed "refreshed 45d ago" when the read was stamped with the wall clock).
    profile = dataclasses.replace(
        make_profile(emulator), name="test-token", token=emulator.credentials.org_token
    )
    posted: list[Any] = []
    env_matrix.read_job(posted.append, profile, None, None, lambda: 1_800_000_000.0)
    (first,) = posted
    assert first.error is None and first.project.read_at == 1_800_000_000.0
    for changed in ([], [("dark-mode", None)]):  # a listing's check, and a flag read again
        env_matrix.read_job(posted.append, profile, first.project, changed, lambda: 1_800_000_060.0)
        assert posted[-1].error is None and posted[-1].project.read_at == 1_800_000_060.0


def test_the_side_by_side_says_how_old_its_read_is_and_when_a_refresh_failed() -> None:
    read = DiffRead(None, None, 100.0, refreshing=True, error="management API answered HTTP 503")
    assert read_state(read, 160.0) == (
        "read 1m ago · refreshing… · last refresh failed: management API answered HTTP 503"
        " · follows each new read · r reads again now"
    )


async def test_at_80_columns_the_header_wraps_and_the_pair_column_says_a_to_b(
    emulator: EmulatorHandle,
) -> None:
    # At 80 columns the header was cut after `changes checked`, and the last column's header
    # read `production → s`.
    profile = dataclasses.replace(
        make_profile(emulator), name="test-token", token=emulator.credentials.org_token
    )
    app = Bare(profile)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, EnvMatrixScreen), what="matrix")
        screen = app.screen
        assert isinstance(screen, EnvMatrixScreen)
        await wait_for(pilot, lambda: screen.reads >= 1 and screen.keys, what="the first read")
        await pilot.pause()
        header = screen.query_one("#matrix-state", Static)
        assert header.size.height >= 2, header.size
        labels = [column.label.plain for column in screen.table.columns.values()]
        assert labels[-1] == "A → B", labels


def config(env: str, enabled: bool, default: int, rules: list[tuple[str, str, int]]) -> FlagConfig:
    """A number flag whose rules are `plan = <value>` returning a number, by priority."""
    return FlagConfig(
        flag_id=f"id-{env}",
        flag_key="limits",
        environment_id=env,
        name="Limits",
        description=None,
        value_type="number",
        enabled=enabled,
        default_value=default,
        rules=tuple(
            RuleConfig(
                rule_id=f"{env}-{i}",
                priority=i,
                rule_type="attribute",
                attribute=attribute,
                operator="eq",
                value_json=json.dumps(value),
                rollout_percentage=None,
                bucket_by=None,
                return_value=returns,
                is_active=True,
            )
            for i, (attribute, value, returns) in enumerate(rules)
        ),
        updated_at=None,
        version=1,
    )


class DiffOnly(App[None]):
    """The side by side alone, on a fixed read."""

    def __init__(self, read: DiffRead) -> None:
        super().__init__()
        self.read = read

    def on_mount(self) -> None:
        self.push_screen(
            EnvDiffScreen("limits", "production", "staging", lambda: self.read, time.time)
        )


def test_the_only_difference_is_said_once() -> None:
    # The headline (`the first difference and how many more`) and the list's only line said
    # the same difference twice.
    a = config("production", True, 100, [("plan", "premium", 1000)])
    b = config("staging", True, 100, [("plan", "premium", 5000)])
    headline, lines = env_diff.difference_words("limits", "production", "staging", a, b)
    assert "1000 → 5000" in headline and "+" not in headline and lines == []
    c = config("staging", False, 100, [("plan", "premium", 5000)])
    headline, lines = env_diff.difference_words("limits", "production", "staging", a, c)
    assert headline.endswith("· +1 more") and len(lines) == 2  # several: every one listed


def test_the_line_under_the_differences_counts_those_out_of_sight() -> None:
    assert hidden_below([1, 2, 3, 5, 6], 4) == 2
    assert more_below(0, in_list=False) == ""
    assert more_below(1, in_list=True) == "… 1 more difference below: ↓ scrolls"
    assert more_below(4, in_list=False) == "… 4 more differences below: tab, then ↓"


async def test_at_80_columns_every_difference_can_be_reached_and_the_hidden_ones_are_said() -> None:
    # 13 differences: the list held 9 lines at most, did not scroll and said nothing of the
    # rest, though its headline counted them (`· +12 more`).
    plans = ["free", "pro", "team", "business", "enterprise", "edu"]
    a = config("production", True, 1, [("plan", p, 10 + i) for i, p in enumerate(plans)])
    b = config("staging", False, 2, [("country", p, 20 + i) for i, p in enumerate(plans)])
    app = DiffOnly(DiffRead(a, b, time.time()))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, EnvDiffScreen), what="the diff")
        screen = app.screen
        assert isinstance(screen, EnvDiffScreen)
        more = screen.query_one("#env-diff-more", Static)
        await wait_for(pilot, lambda: "below: tab, then ↓" in str(more.render()), what="more")
        headline, *differences = screen.differences_shown()
        total = len(differences)
        assert total >= 13 and headline.endswith(f"+{total - 1} more"), headline
        words = screen.words

        def hidden_and_unseen() -> tuple[int, int]:
            seen = [line for line in screen._lines() if line.region.bottom <= words.region.bottom]
            return int(str(more.render()).split()[1]), total - len(seen)

        # Once the box is shared between the table and the list (a layout or two after opening).
        await wait_for(pilot, lambda: len(set(hidden_and_unseen())) == 1, what="settled")
        assert hidden_and_unseen()[0] > 0

        await pilot.press("tab")
        assert screen.focused is words
        await wait_for(pilot, lambda: "↓ scrolls" in str(more.render()), what="in the list")
        await pilot.press("end")
        last = screen._lines()[-1]
        await wait_for(
            pilot,
            lambda: not more.display and words.region.contains_region(last.region),
            what="the last difference in sight",
        )


def test_the_line_under_the_table_counts_the_rules_below_its_edge() -> None:
    labels = ["enabled", "default", "rule 1 / 1", "rule 2 / 2", "rule 3 / –"]
    assert rows_below(labels, 5) == ""
    assert rows_below(labels, 4) == "… 1 more rule below"
    assert rows_below(labels, 2) == "… 3 more rules below"
    assert rows_below(labels, 1) == "… 4 more lines below (3 rules)"  # a field among them
    assert rows_below(labels[:2], 1) == "… 1 more line below"


def test_the_sides_take_the_table_width_and_the_height_is_shared_by_need() -> None:
    # The cells were cut at the same ~20 cells at any width once the screen had been resized
    # (laid out once, from the size the screen had when it opened).
    assert side_width(68) == 22 and side_width(176) == 76
    assert side_width(10) == 12
    assert table_height(35, 20, 12) == 20  # both whole
    # 16 rules beside 2 at 200x50: the table kept half, the differences' list blank lines.
    assert table_height(35, 23, 15) == 19
    assert table_height(35, 8, 40) == 8  # the table whole, the differences the rest
    assert table_height(27, 20, 20) == 12  # half each
    assert table_height(4, 20, 20) == 3  # never less than a header and two rows


async def test_every_rule_can_be_reached_and_those_below_the_table_are_said() -> None:
    # 16 rules in production, 2 in staging: the table ended at `≠ rule 2 / 2` at 80x24 and
    # read as "both have 2 rules", saying nothing of the 14 below its edge.
    plans = ["free", "pro"] + [f"plan{i} of a long name" for i in range(14)]
    a = config("production", True, 1, [("plan", p, 10 + i) for i, p in enumerate(plans)])
    b = config("staging", True, 1, [("plan", p, 10 + i) for i, p in enumerate(plans[:2])])
    app = DiffOnly(DiffRead(a, b, time.time()))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, EnvDiffScreen), what="the diff")
        screen = app.screen
        assert isinstance(screen, EnvDiffScreen)
        table, more = screen.table, screen.query_one("#env-diff-rules-more", Static)
        # At 80x24 the table holds its header and 4 rows: the fields' last lines are below too.
        await wait_for(pilot, lambda: "rules): ↓ scrolls" in str(more.render()), what="more")

        def hidden_and_unseen() -> tuple[int, int]:
            seen = table.scrollable_content_region.height - table.header_height
            return int(str(more.render()).split()[1]), table.row_count - seen

        await wait_for(pilot, lambda: len(set(hidden_and_unseen())) == 1, what="settled")
        assert table.row_count == 21 and hidden_and_unseen()[0] >= 16
        assert "(16 rules)" in str(more.render())

        await pilot.press("tab")
        await wait_for(pilot, lambda: "rules): tab, then ↓" in str(more.render()), what="tab")
        await pilot.press("tab")
        assert screen.focused is table
        await pilot.press("pagedown", "ctrl+end")
        last = table.get_row_at(table.row_count - 1)
        assert last[0].plain == "≠ rule 16 / –" and last[1].plain.startswith("plan = plan13 of")
        await wait_for(pilot, lambda: not more.display, what="the last rule in sight")

        await pilot.resize_terminal(200, 50)
        await wait_for(pilot, lambda: screen._width == 76, what="the columns widened")
        assert table.get_row_at(table.row_count - 1)[1].plain == "plan = plan13 of a long name → 25"


async def test_the_columns_are_laid_out_again_when_the_terminal_is_resized(
    emulator: EmulatorHandle,
) -> None:
    # The widths were those of the size the matrix was first read at: opened at 200 columns
    # and resized to 80, the environments' columns ran off the screen until the next read,
    # and stayed so for good when the last column's label did not change.
    profile = dataclasses.replace(
        make_profile(emulator), name="test-token", token=emulator.credentials.org_token
    )
    app = Bare(profile)  # no monitor: no read comes while the test resizes

    def widths(screen: EnvMatrixScreen) -> list[int]:
        return [column.width for column in screen.table.columns.values()]

    async with app.run_test(size=(200, 50)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, EnvMatrixScreen), what="matrix")
        screen = app.screen
        assert isinstance(screen, EnvMatrixScreen)
        await wait_for(pilot, lambda: screen.reads >= 1 and screen.keys, what="the first read")
        wide = widths(screen)
        for size in ((80, 24), (150, 40)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            each, last = screen._widths(2)
            assert widths(screen) == [env_matrix.FLAG_WIDTH, each, each, last], size
            assert sum(widths(screen)) <= size[0], (size, widths(screen))
        labels = [column.label.plain for column in screen.table.columns.values()]
        assert labels[-1] == "production → staging", labels
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert widths(screen) == wide
        assert screen.reads == 1 and len(screen.keys) == 23  # laid out again, not read again


def test_a_and_b_say_why_when_there_is_no_other_environment_to_choose() -> None:
    from togul_monitor.client.environments import Environment
    from togul_monitor.core.env_configs import ProjectConfigs
    from togul_monitor.ui.view.env_matrix import no_other

    def project(*keys: str) -> ProjectConfigs:
        envs = tuple(Environment(f"id-{key}", key, key) for key in keys)
        return ProjectConfigs("p", envs, {key: {} for key in keys})

    assert no_other(project("production", "staging", "dev"), "production", "staging") == ""
    two = no_other(project("production", "staging"), "production", "staging")
    assert two == "only two environments, A production and B staging: no other to choose"
    one = no_other(project("production"), "production", "production")
    assert one.startswith("production is the project's only environment")
    assert "none read yet" in no_other(None, "", "")


async def test_a_pressed_with_two_environments_is_answered_by_a_notification(
    emulator: EmulatorHandle,
) -> None:
    # `a` and `b` did nothing and said nothing where the only other environment is the one
    # the other key holds.
    profile = dataclasses.replace(
        make_profile(emulator), name="test-token", token=emulator.credentials.org_token
    )
    app = Bare(profile)
    async with app.run_test(size=(120, 30)) as pilot:
        said: list[str] = []
        notify = app.notify

        def noted(message: str, **kwargs: Any) -> None:
            said.append(message)
            notify(message, **kwargs)

        app.notify = noted  # type: ignore[method-assign]
        await wait_for(pilot, lambda: isinstance(app.screen, EnvMatrixScreen), what="matrix")
        screen = app.screen
        assert isinstance(screen, EnvMatrixScreen)
        await wait_for(pilot, lambda: screen.reads >= 1 and screen.keys, what="the first read")
        await pilot.press("a")
        await pilot.press("b")
        assert (screen.env_a, screen.env_b) == ("production", "staging")
        assert said == 2 * ["only two environments, A production and B staging: no other to choose"]
