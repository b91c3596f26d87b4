"""The real app with the demo's named contexts against the seeded emulator: a value column per
context at 120×40 and 80×24 (headers, each context's own values, nothing cut without `…`), the
feed row naming exactly the contexts a change changed, the detail listing every context."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from rich.cells import cell_len
from textual.widgets import Static

from togul_monitor.ui.app import TogulMonitorApp
from togul_monitor.ui.screens.event_detail import EventDetailScreen
from togul_monitor.ui.view.change import value_text, whole
from togul_monitor.ui.view.feed_layout import row_change, row_text

from .context_scenes import SMALL, contexts_profile, drive_contexts
from .snapshot_scenes import SIZE, Scene, scene_app, scene_emulator, until


@pytest.fixture(autouse=True)
def _home(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with tempfile.TemporaryDirectory(prefix="togul-contexts-") as home:
        monkeypatch.setenv("TOGUL_MONITOR_HOME", home)
        yield


def whole_or_cut(shown: str, whole: str) -> bool:
    """`shown` is `whole`, or a prefix of it ending with `…`."""
    return shown == whole or (shown.endswith("…") and whole.startswith(shown[:-1]))


def check_columns(app: TogulMonitorApp) -> None:
    table = app.main.values_table
    snapshot = app.monitor.snapshot()  # type: ignore[union-attr]
    contexts = snapshot.contexts
    assert len(contexts) >= 3 and table.contexts == tuple(contexts)
    columns = list(table.columns.values())
    labels = [column.label.plain for column in columns]
    assert labels[0] == "flag"
    # Every context has a column, headed by its name (cut with `…` only), in the profile's order.
    for index, name in enumerate(contexts):
        assert whole_or_cut(labels[1 + index], name), (labels, name)
    differ = 0
    for row, flag in enumerate(sorted(table.flags)):
        cells = [cell.plain for cell in table.get_row_at(row)]
        head, cut, tail = cells[0].strip(" ★").partition("…")  # cut in the middle, if at all
        assert flag == head if not cut else flag.startswith(head) and flag.endswith(tail)
        shown = []
        for index, name in enumerate(contexts):
            cell, width = cells[1 + index], columns[1 + index].width
            assert cell_len(cell) <= width - 1  # a gap before the next column
            current = snapshot.context_values[name][flag].current
            assert current is not None
            assert whole_or_cut(cell, value_text(current)), (flag, name, cell)
            shown.append(value_text(current))
        differ += len(set(shown)) > 1
    assert differ >= 3  # the contexts really are told apart (api-rate-limit, new-dashboard, …)


@pytest.mark.parametrize("size", [SIZE, SMALL], ids=["120x40", "80x24"])
async def test_a_value_column_per_context_and_a_row_naming_the_changed_contexts(
    size: tuple[int, int],
) -> None:
    with scene_emulator() as emu:
        app = scene_app(emu, Scene("contexts", drive_contexts, "", profile=contexts_profile))
        async with app.run_test(size=size) as pilot:
            await drive_contexts(pilot, emu)
            check_columns(app)
            store, feed = app.main.store, app.main.feed
            row = next(r for r in store.view if getattr(r, "flag_key", "") == "welcome-message")
            transitions = store.transitions_for(row)  # type: ignore[arg-type]
            changed = [t.context for t in transitions]
            contexts = app.monitor.snapshot().contexts  # type: ignore[union-attr]
            assert changed and len(changed) < len(contexts)  # some changed, some did not
            names = dict(app.main.environment_names)
            wide = row_text(
                row, 300, time_mode="local", now=0.0, environment_names=names, store=store
            )
            said = [
                f"[{t.context}] {value_text(t.before)} → {value_text(t.after)}" for t in transitions
            ]
            others = [c for c in contexts if c not in changed]
            assert "; ".join([*said, f"[{', '.join(others)}] unchanged"]) in wide.plain
            width = feed.scrollable_content_region.width
            line = row_text(
                row,
                width,
                time_mode="local",
                now=0.0,
                environment_names=names,
                store=store,
                layout=feed.columns,
            ).plain
            assert cell_len(line) <= width
            if size == SMALL:  # the first change whole, and how many contexts it leaves out
                # What those are, when they are alike (the others unchanged); then the diff,
                # with what the values leave, cut with `…` (view/change.py).
                what = "unchanged" if len(changed) == 1 else "more"
                _, short = row_change(row, store)  # type: ignore[arg-type]
                narrow = whole(short).plain
                assert narrow.startswith(f"{said[0]} +{len(contexts) - 1} {what}"), narrow
                shown = line[line.index(said[0]) :]
                assert shown.startswith(f"{said[0]} +{len(contexts) - 1} ")
                assert whole_or_cut(shown, narrow), (shown, narrow)
            if size == SIZE:
                await check_detail(pilot, app, row, changed, others)


async def check_detail(
    pilot: Any, app: TogulMonitorApp, row: object, changed: list[str], others: list[str]
) -> None:
    feed = app.main.feed
    feed.focus()
    feed.move_to(list(app.main.store.view).index(row))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, EventDetailScreen))
    body = str(app.screen.query_one("#detail-body", Static).render())
    lines = [line.strip() for line in body.splitlines()]
    start = next(i for i, line in enumerate(lines) if line.startswith("values for this profile"))
    section = lines[start : start + 3 * len(changed) + len(others) + 1]
    for name in changed:
        at = section.index(name)
        assert section[at + 1].startswith('before "Welcome!"')
        assert section[at + 2].startswith('after  "Hello!"')
    for name in others:
        assert any(line.split() == [name, "unchanged"] for line in section), (name, section)


async def test_each_context_column_shows_its_own_state_and_follows_new_contexts() -> None:
    """Values built by hand: stale, evaluating, failed and deleted per context, at 80 columns;
    another profile's contexts rename the headers even where the widths stay the same."""
    from textual.app import App, ComposeResult

    from togul_monitor.domain.values import Evaluation, FlagValue
    from togul_monitor.ui.view.value_columns import WAITING
    from togul_monitor.ui.widgets.values_table import ValuesTable

    class One(App[None]):
        def compose(self) -> ComposeResult:
            yield ValuesTable(lambda: 100.0, id="values")

    def value(context: str, current: object, **state: Any) -> FlagValue:
        evaluation = None if current is None else Evaluation(current, "string", "default", True)
        fields: dict[str, Any] = {"stale": False, "deleted": False, "error": None, **state}
        return FlagValue(
            "checkout-button-color", evaluation, None, 99.0, None, context=context, **fields
        )

    app = One()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(ValuesTable)
        table.set_contexts(("premium", "free", "eu", "trial"))
        table.apply(
            [
                value("premium", "a-rather-long-colour-name", stale=True),
                value("free", None, stale=True),
                value("eu", None, error="timeout"),
                value("trial", None, deleted=True),
            ]
        )
        await pilot.pause()
        cells = [cell.plain for cell in table.get_row_at(0)]
        labels = [column.label.plain for column in table.columns.values()]
        assert labels[:5] == ["flag", "premium", "free", "eu", "trial"]
        premium, free, eu, trial = cells[1:5]
        assert premium.endswith("… ⟳") and '"a-rather' in premium  # cut, and stale
        # Waiting and stale: the waiting mark, never the `…` a cut value ends with.
        assert free == f"{WAITING} ⟳" and eu == "timeout" and trial == "deleted"
        table.set_contexts(("gold", "iron", "lead", "zinc"))
        await pilot.pause()
        assert [c.label.plain for c in table.columns.values()][1:5] == [
            "gold",
            "iron",
            "lead",
            "zinc",
        ]
        assert table.row_count == 0  # the values were the other contexts'
