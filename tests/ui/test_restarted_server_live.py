"""A server restarted while the TUI watches numbers its events from 1 again: the new life's event
of an id that changed no value says so, on its row and in its detail, and never shows the earlier
life's change of that id, flag and version (README.md, `enter`); the earlier row keeps its own.
Over a real socket, with a token the restarted server refuses."""

from __future__ import annotations

import contextlib
import dataclasses
import time

from textual.widgets import Static

from togul_monitor.domain.events import FlagEvent
from togul_monitor.emulator.harness import running_emulator
from togul_monitor.ui.screens.event_detail import EventDetailScreen

from .helpers import make_app, make_profile, wait_for, wait_live

FLAG = "checkout-v2"  # its second rule: 25% of users by user_id (neither of these two)
CONTEXTS = {
    "premium": {"plan": "premium", "user_id": "u-1"},
    "free": {"plan": "free", "user_id": "u-2"},
}


async def test_the_new_lifes_event_of_a_reused_id_shows_no_earlier_change() -> None:
    later = [0.0]  # the second life's clock: its token is signed anew, the old one refused

    def clock() -> float:
        return time.time() + later[0]

    with contextlib.ExitStack() as lives:
        emu = lives.enter_context(running_emulator(seed=0, ids=True, clock=clock, token_ttl=3600))
        port = int(emu.base_url.rsplit(":", 1)[1])
        profile = make_profile(emu, watch=(FLAG,))
        profile = dataclasses.replace(
            profile, context={}, contexts=CONTEXTS, token=emu.credentials.org_token
        )
        app = make_app(profile)
        async with app.run_test(size=(160, 40)) as pilot:
            await wait_live(pilot, app)
            store = app.main.store

            def events() -> list[FlagEvent]:
                return [row for row in store.view if type(row) is FlagEvent]

            def answered(event: FlagEvent) -> bool:
                return all(store.answers.answer(event, c) for c in CONTEXTS) or bool(
                    store.transitions_for(event)
                )

            def values_are(wanted: bool) -> bool:
                monitor = app.monitor
                assert monitor is not None
                values = monitor.snapshot().context_values
                found = [values.get(c, {}).get(FLAG) for c in CONTEXTS]
                return all(
                    v is not None
                    and v.current is not None
                    and not v.stale
                    and v.current.value is wanted
                    for v in found
                )

            await wait_for(pilot, lambda: values_are(False), what="the first values")
            emu.world.update_rule("production", FLAG, 1, rollout_percentage=100)  # id 1, v2
            await wait_for(pilot, lambda: values_are(True), what="the first life's change")
            token = emu.credentials.org_token
            lives.close()  # the server restarts: its world as seeded, its ids from 1 again
            later[0] = 5.0
            emu = lives.enter_context(
                running_emulator(seed=0, ids=True, clock=clock, token_ttl=3600, port=port)
            )
            assert emu.credentials.org_token != token
            # Found false again by the re-evaluation after the reconnect (a row of its own).
            await wait_for(pilot, lambda: values_are(False), timeout=10, what="the values back")
            await wait_live(pilot, app, 10)
            emu.world.update_rule("production", FLAG, 1, rollout_percentage=0)  # id 1, v2 again
            await wait_for(
                pilot,
                lambda: len(events()) == 2 and answered(events()[1]),
                timeout=10,
                what="the new event's answer",
            )
            old, new = events()
            assert (old.event_id, old.version) == (new.event_id, new.version) == ("1", 2)
            assert [t.after.value for t in store.transitions_for(old) if t.after] == [True, True]
            assert store.transitions_for(new) == ()  # before: the earlier life's two changes
            app.main.feed.move_to(store.view.index(new))
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, EventDetailScreen), what="detail")
            body = " ".join(str(app.screen.query_one("#detail-body", Static).render()).split())
            assert "before" not in body and body.count("unchanged") == 2, body
