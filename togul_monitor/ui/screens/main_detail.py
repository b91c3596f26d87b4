"""The screens the main screen opens over itself for one row or for every flag: the event
detail (`enter` on a feed row), a flag's values (`enter` on a values row), the flag inventory
(`i`) and the environment matrix (`c`).

The detail of an event says its value change (looked up in the journal on a worker when memory
no longer holds it) and what it changed in the flag's configuration (view/config_diffs.py); the
inventory lists every flag of the environment and, on `enter`, selects one in the main screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from rich.text import Text
from textual.screen import Screen

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.values import FlagValue, ValueTransition
from togul_monitor.ui.handle import ViewHost
from togul_monitor.ui.screens import main_jobs
from togul_monitor.ui.screens.event_detail import (
    ContextWords,
    EventDetailScreen,
    Rebuild,
    detail_text,
    marker_detail,
)
from togul_monitor.ui.view.config_diffs import NOTHING_WATCHES, config_text
from togul_monitor.ui.view.contexts import context_states
from togul_monitor.ui.view.feed_store import FeedStore
from togul_monitor.ui.view.inventory import InventorySource
from togul_monitor.ui.view.rows import MARKER_TITLES, FeedItem, Row
from togul_monitor.ui.widgets.values_table import ValuesTable


def open_detail(
    screen: Screen[None],
    host: ViewHost,
    store: FeedStore,
    item: Row,
    time_mode: str,
    names: Mapping[str, str],
) -> None:
    app = screen.app
    if isinstance(item, FeedItem):
        title = MARKER_TITLES.get(item.marker, item.marker)
        app.push_screen(EventDetailScreen(marker_detail(item, time_mode), title=title))
        return
    transitions = store.transitions_for(item)
    monitor, answers = host.monitor, store.answers
    # The view holds the changes of every event it saw answered (view/event_changes.py): one
    # answered in each context changed nothing. The monitor's look-up by id allows for two
    # recorders' clocks (domain/change_owners.py `owned_span`), so it could take a restarted
    # server's earlier event of the id, seconds before, for this one.
    look_up = (
        not transitions
        and monitor is not None
        and item.event_id is not None
        and not answers.answered(item)
    )
    # With several contexts the detail lists each: its change, or what it said without one.
    states = context_states(item, answers, transitions)
    contexts = ContextWords(answers.contexts if answers.several else (), states)
    snapshot = monitor.snapshot() if monitor is not None else None
    if snapshot is not None:
        state = snapshot.config_state
    else:  # no monitor yet (loading), or none any more: a profile that could not be opened
        state = NOTHING_WATCHES if answers.halted else "loading"
    loaded, total = (snapshot.configs_loaded, snapshot.configs_total) if snapshot else (0, 0)
    diff = store.diffs.for_event(item)
    config = config_text(diff, state, loaded, total)
    replayed = store.replays.outage_of(item)
    body = detail_text(
        item,
        transitions,
        time_mode,
        names,
        looking_up=look_up,
        config=config,
        contexts=contexts,
        replayed=replayed,
    )
    rebuild: Rebuild | None = None
    if diff is None and state in ("loading", "complete"):  # the diff may come in a moment

        def rebuild(found: tuple[ValueTransition, ...], looking: bool) -> Text | None:
            diff = store.diffs.for_event(item)
            if diff is None:
                return None
            changes = found or store.transitions_for(item)
            config = config_text(diff, state)
            return detail_text(
                item,
                changes,
                time_mode,
                names,
                looking_up=looking,
                config=config,
                contexts=contexts,
                replayed=replayed,
            )

    detail = EventDetailScreen(body, title="event detail", rebuild=rebuild, looking_up=look_up)
    app.push_screen(detail)
    if look_up and monitor is not None:
        # Not in memory: the monitor reads the journal (a flush, a SQLite query), which may
        # take seconds under backlog. The screen is open already; the answer fills it in.
        job, post = main_jobs.look_up_transition, detail.post_message
        args = (monitor, item, time_mode, {**names}, config, contexts, replayed)
        main_jobs.start(screen, "transition", job, post, *args)


def own_row(store: FeedStore, event: FlagEvent) -> FlagEvent:
    """The view's own row of `event`, else `event`. A history entry may be the journal's copy,
    equal to the row, while the view keeps what it knows of an event by its row's object when
    the server sent no id or numbered it again (view/event_entries.py `event_key`)."""
    for rows in (store.view, store.pending):
        for row in reversed(rows):
            if type(row) is FlagEvent and row == event:
                return row
    return event


def open_values(
    screen: Screen[None],
    table: ValuesTable,
    flag: str,
    time_mode: str,
    latest: Callable[[], FlagEvent | None],
    open_event: Callable[[Row], None],
) -> None:
    """The flag's value for each context, whole (the values pane cuts them to its columns), with
    `e` for the detail of its latest event in the feed (`latest`, opened by `open_event`)."""
    from togul_monitor.ui.screens.values_detail import ValuesDetailScreen

    def read() -> list[tuple[str, FlagValue | None]]:
        return [(name, table.by_context.get(name, {}).get(flag)) for name in table.contexts]

    def latest_event() -> None:
        event = latest()
        if event is None:
            screen.app.notify("No event of this flag in the feed's view yet.", markup=False)
            return
        open_event(event)

    values = ValuesDetailScreen(
        flag,
        read,
        evaluates=lambda: table.evaluates,
        clock=table.clock,
        time_mode=time_mode,
        latest_event=latest_event,
        doubt=lambda: table.doubt,
    )
    screen.app.push_screen(values)


def open_inventory(
    screen: Screen[None],
    host: ViewHost,
    store: FeedStore,
    clock: Callable[[], float],
    select: Callable[[str | None], None],
) -> None:
    """The flag inventory over the main screen; `select` gets the flag chosen with `enter`."""
    source = InventorySource(
        lambda: host.monitor,
        store.diffs,
        clock,
        lambda: store.answers.evaluates,
        heartbeat=host.profile.heartbeat_seconds,
    )
    # Imported here: the first frame paints before the screens it does not show load.
    from togul_monitor.ui.screens.inventory import InventoryScreen

    screen.app.push_screen(InventoryScreen(source), select)


def open_matrix(screen: Screen[None], host: ViewHost, clock: Callable[[], float]) -> None:
    """The environment matrix (`c`) over the main screen, for the running profile."""
    from togul_monitor.ui.screens.env_matrix import EnvMatrixScreen

    screen.app.push_screen(EnvMatrixScreen(host.profile, lambda: host.monitor, clock))
