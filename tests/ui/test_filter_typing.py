"""The filter bar while typing: what is in force is a filter the user finished typing (a pause or
enter), never a prefix of it on the way, and an invalid one leaves the last valid one in force."""

from __future__ import annotations

from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.ui.widgets.filter_bar import FilterBar

from .helpers import make_app, make_profile, wait_for, wait_live


def applied_filters(app) -> list[str]:  # type: ignore[no-untyped-def]
    """Every filter put in force from now on, in order (the main screen's `filter` var)."""
    applied: list[str] = []
    app.main.watch(app.main, "filter", lambda flt: applied.append(flt.text), init=False)
    return applied


async def test_typing_env_staging_never_filters_on_a_prefix(emulator: EmulatorHandle) -> None:
    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 1)
        applied = applied_filters(app)
        bar = app.query_one(FilterBar)
        # A long pause, so a loaded machine never pauses as long between two keys of a burst.
        bar.apply_after = 1.0
        await pilot.press("slash", *"env:staging")
        assert bar.input.value == "env:staging"
        assert applied == []  # nothing yet: typing has not paused
        await wait_for(pilot, lambda: applied, what="the filter applied after the pause")
        assert applied == ["env:staging"]  # not "e", "en", "env" on the way
        assert app.main.store.filtered == 1 and app.main.store.shown == 0


async def test_enter_applies_at_once_and_an_unknown_type_keeps_the_filter_in_force(
    emulator: EmulatorHandle,
) -> None:
    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        emulator.world.update_flag("production", "checkout-v2", enabled=False)
        emulator.world.update_flag("production", "new-dashboard", enabled=False)
        await wait_for(pilot, lambda: app.main.store.shown == 2)
        bar = app.query_one(FilterBar)
        bar.apply_after = 30.0  # only enter can apply within the test
        await pilot.press("slash", *"checkout", "enter")
        assert app.main.filter.text == "checkout" and not bar.has_class("-open")
        await wait_for(pilot, lambda: app.main.store.filtered == 1)
        applied = applied_filters(app)
        bar.apply_after = 0.3
        await pilot.press("slash", "end", *" type:flag.udpated")
        await wait_for(pilot, lambda: bar.has_class("-error"), what="the error after the pause")
        message = str(bar.query_one("#filter-message").render())
        assert "did you mean type:flag.updated?" in message
        assert applied == [] and app.main.filter.text == "checkout"  # still in force
        assert app.main.store.filtered == 1
        await pilot.press("enter")  # enter on an invalid filter: the bar stays open
        assert bar.has_class("-open") and app.main.filter.text == "checkout"
        await pilot.press("escape")
        assert app.main.filter.text == "checkout"


async def test_editing_keys_in_a_burst_act_where_they_were_typed(emulator: EmulatorHandle) -> None:
    """`tmux send-keys '/' C-u 'env:staging' Enter`: ctrl+u erased the text typed after it, so
    enter put an empty filter in force (Input's bound keys act once they reach the app)."""
    from textual import events

    app = make_app(make_profile(emulator, watch=()))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_live(pilot, app)
        await pilot.press("slash", *"old", "enter")
        assert app.main.filter.text == "old"
        keys = [("slash", "/"), ("ctrl+u", None), *((c, c) for c in "checkout")]
        keys += [("backspace", None), ("backspace", None), ("enter", "\r")]
        for key, char in keys:  # all queued before the first is handled
            app.post_message(events.Key(key, char))
        bar = app.query_one(FilterBar)
        await wait_for(pilot, lambda: app.main.filter.text != "old", what="a new filter")
        assert (app.main.filter.text, bar.input.value) == ("checko", "checko")
        assert not bar.has_class("-open")
