"""`c`: the environment matrix. Every flag × every environment of the profile's project: its
switch, default and rules in each; cells that differ from environment A's marked `≠` and
highlighted; the last column says how A and B differ. The columns share the screen's width,
laid out again at every resize (`on_resize`), not only when a read comes.

`d` shows only the flags that differ (or all again); `a` and `b` choose the two environments
compared (A: the profile's, B: the next one, at first; a notification says when there is no
other to choose); `r` reads everything again now; `enter` opens the flag's side-by-side diff
between A and B (`env_diff.py`, which follows the reads while it is open); `esc` closes.

Reads run in a thread worker, one at a time, each on a loop of its own with bounded concurrency
(core/env_configs.py), never on the UI's loop; at most the profile's `max_flags` flags of each
environment are read. Live: the monitor's event log is looked at twice a second; each event
names its flag and environment, and only those configurations are read again (a handful of
requests); beyond `MAX_PENDING` such pairs waiting, everything is read once instead. The monitor
streams one environment when an API key may stream, so changes elsewhere are caught every
`CHECK_EVERY` seconds by one listing of the project's flags and a read of only the flags whose
listing entry (`version`, `updated_at`) moved; everything is read again every `FULL_EVERY`
seconds (a change the listing does not show, e.g. of a rule on a server that leaves the flag's
`updated_at` alone), and at `r`. The header says when the matrix was last read and how often.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static
from textual.worker import Worker

from togul_monitor.config.profiles import Profile
from togul_monitor.core.env_configs import (
    ProjectConfigs,
    check_blocking,
    read_project_blocking,
    reread_blocking,
)
from togul_monitor.domain.events import FlagEvent
from togul_monitor.support.text import safe_text
from togul_monitor.ui.handle import MonitorHandle
from togul_monitor.ui.screens.env_diff import DiffRead, EnvDiffScreen
from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.view.change import cut_cells
from togul_monitor.ui.view.env_matrix import (
    MARK,
    MatrixRow,
    default_pair,
    header_line,
    matrix_rows,
    next_environment,
    no_other,
    pair_label,
)
from togul_monitor.ui.view.format import fmt_age, plain
from togul_monitor.ui.worker_errors import report_worker_error

LOOK_EVERY = 0.5  # seconds between two looks at the monitor's new events (module attributes:
CHECK_EVERY = 30.0  # tests shorten them); seconds between two listings (changed flags read)
FULL_EVERY = 300.0  # seconds between two reads of everything
MAX_PENDING = 1_000  # (flag, environment) pairs waiting to be read; beyond: read everything
RETRY_EVERY = 5.0  # seconds after a failed read before everything is read again
FLAG_WIDTH = 22
FLEX_MIN = 12
PADDING = 2  # cells around each column (DataTable's cell padding)
MARKED_STYLE = "bold black on yellow"
NEEDS_TOKEN = (
    "comparing environments needs a token profile: the management API lists every "
    "environment's flags and rules only with a Bearer token (token_env)"
)


@dataclass
class MatrixRead(Message):
    """A read finished: the project's configurations, or why there are none."""

    project: ProjectConfigs | None
    error: str | None


def read_job(
    post: Callable[[Message], object],
    profile: Profile,
    project: ProjectConfigs | None,
    changed: list[tuple[str, str | None]] | None,
    clock: Callable[[], float],
) -> None:
    """Everything (no `project` yet, or `changed` None), the flags whose listing entry moved
    (`changed` empty), or only the flags `changed` names; the read stamped by `clock`, the
    screen's (the header's age is taken on it)."""
    try:
        if project is None or changed is None:
            wanted = tuple(filter(None, [profile.environment_key]))
            found = read_project_blocking(profile, wanted, clock=clock)
        elif not changed:
            found = check_blocking(profile, project, clock=clock)
        else:
            found = reread_blocking(profile, project, changed, clock=clock)
    except Exception as exc:  # any failure is the header's news, not a crash
        post(MatrixRead(None, safe_text(str(exc)) or type(exc).__name__))
        return
    post(MatrixRead(found, None))


DIFFER_TIP = "Only the flags that differ between the environments, or every flag again"
# The keys that read or show what was read: without a token they do nothing (`check_action`).
NEEDS_READ = frozenset({"toggle_differ", "next_a", "next_b", "refresh_all"})


class EnvMatrixScreen(ModalScreen[None]):
    BINDINGS = [
        *close_and_help("matrix_close"),
        Binding("d", "toggle_differ", "Only differing", tooltip=DIFFER_TIP, id="matrix_differ"),
        Binding("a", "next_a", "Env A", tooltip="Environment A: the next one", id="matrix_env_a"),
        Binding("b", "next_b", "Env B", tooltip="Environment B: the next one", id="matrix_env_b"),
        Binding(
            "r", "refresh_all", "Refresh", tooltip="Read everything again", id="matrix_refresh"
        ),
    ]
    HELP_TITLE = "environments side by side (c)"

    DEFAULT_CSS = """
    EnvMatrixScreen { align: center middle; }
    EnvMatrixScreen > Vertical {
        width: 98%; height: 90%; border: thick $accent; background: $surface; padding: 0 1;
    }
    EnvMatrixScreen #matrix-state { height: auto; max-height: 3; color: $text-muted; }
    EnvMatrixScreen DataTable { height: 1fr; }
    """

    def __init__(
        self,
        profile: Profile,
        monitor: Callable[[], MonitorHandle | None],
        clock: Callable[[], float],
    ) -> None:
        super().__init__()
        self.profile, self.monitor, self.clock = profile, monitor, clock
        self.project: ProjectConfigs | None = None
        self.env_a = self.env_b = ""
        self.only_differ = False
        self.rows: list[MatrixRow] = []  # every flag's row
        self.keys: list[str] = []  # the flag of each row shown, in the table's order
        self.error: str | None = None
        self.busy = False
        self.reads = 0  # reads answered (tests wait on it)
        self._pending: set[tuple[str, str | None]] = set()  # (flag, environment id) to read
        self._position: int | None = None  # the monitor's event-log position looked at
        self._watched: MonitorHandle | None = None
        self._columns: tuple[object, ...] = ()  # the columns' labels and widths, as laid out
        self._full_at = 0.0  # wall-clock time of the next read of everything
        self._check_at = 0.0  # wall-clock time of the next listing

    @property
    def OTHER_KEYS(self) -> tuple[tuple[str, str], ...]:  # noqa: N802 (as the help reads it)
        """The table's keys for the help: none without a token (nothing is read)."""
        if not self.profile.token:
            return ()
        return (
            ("up,down", "Move among the flags"),
            ("enter", "The flag side by side in environments A and B"),
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Without a token nothing can be read: the keys that read or show what was read are
        neither run nor offered in the footer (the header says why)."""
        return bool(self.profile.token) or action not in NEEDS_READ

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "environments"
            if self.profile.token:
                box.border_subtitle = "d only differing · a/b environments · r refresh · enter diff"
            yield Static("", id="matrix-state")
            yield DataTable(id="matrix-table", cursor_type="row", zebra_stripes=True)
        yield modal_footer()

    def on_mount(self) -> None:
        self.table.focus()
        if not self.profile.token:  # nothing to read: say why, once
            self.query_one("#matrix-state", Static).update(Text(NEEDS_TOKEN))
            return
        self._catch_up()  # events from now on count; the first read covers what came before
        self._read(full=True)
        self.set_interval(LOOK_EVERY, self._look, name="matrix")

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#matrix-table", DataTable)

    # -- reading -------------------------------------------------------------------------------
    def _catch_up(self) -> None:
        """Take the monitor's new events: each marks its flag in its environment to read."""
        monitor = self.monitor()
        if monitor is None:
            return
        if monitor is not self._watched:  # a new monitor: its log numbers rows anew
            self._watched, self._position = monitor, None
        rows, end = monitor.rows_since(sys.maxsize if self._position is None else self._position)
        if self._position is not None:
            pending = self._pending
            for row in rows:
                if type(row) is FlagEvent:
                    pending.add((row.flag_key, row.environment_id or None))
                    if len(pending) > MAX_PENDING:  # cheaper read at once than one by one
                        pending.clear()
                        self._full_at = 0.0
        self._position = end

    def _read(self, *, full: bool = False, check: bool = False) -> None:
        if self.busy or not self.profile.token:  # no read without a token (`on_mount`'s text)
            return
        full = full or self.project is None
        now = self.clock()
        if full:
            self._full_at = now + FULL_EVERY
        if full or check:
            self._check_at = now + CHECK_EVERY
        changed = None if full else [] if check else sorted(self._pending, key=str)
        if full or not check:
            self._pending.clear()  # a listing's check leaves the events' flags to their read
        self.busy = True
        job = partial(read_job, self.post_message, self.profile, self.project, changed, self.clock)
        self.run_worker(job, thread=True, group="matrix", name="matrix", exit_on_error=False)
        self._paint_header()

    def _look(self) -> None:
        self._catch_up()
        project = self.project
        if not self.busy:
            now = self.clock()
            if now >= self._full_at:
                self._read(full=True)
            elif self._pending and project is not None:
                self._read()
            elif now >= self._check_at:
                self._read(check=True)
        self._paint_header()  # the age moves

    @on(MatrixRead)
    def _answered(self, message: MatrixRead) -> None:
        self.busy = False
        self.reads += 1
        self.error = message.error
        if message.error:  # read everything again after a pause (never at every look)
            self._full_at = min(self._full_at, self.clock() + RETRY_EVERY)
        if message.project is not None:
            first = self.project is None
            self.project = message.project
            if first or self.env_a not in message.project.configs:
                self.env_a, self.env_b = default_pair(message.project, self.profile.environment_key)
            self.rebuild()
        self._paint_header()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if report_worker_error(self, event):
            self.busy = False

    # -- painting ------------------------------------------------------------------------------
    def _paint_header(self) -> None:
        line = header_line(
            self.project,
            self.env_a,
            self.env_b,
            only_differ=self.only_differ,
            shown=len(self.keys),
            now=self.clock(),
            busy=self.busy,
            error=self.error,
            cadence=f"changes checked every {fmt_age(CHECK_EVERY)}, all every {fmt_age(FULL_EVERY)}",
            max_flags=self.profile.max_flags,
        )
        self.query_one("#matrix-state", Static).update(Text(line))

    def _widths(self, envs: int) -> tuple[int, int]:
        """(each environment's width, the summary's)."""
        total = self.app.size.width * 98 // 100 - 4
        room = total - FLAG_WIDTH - PADDING * (envs + 2) - 2
        each = max(FLEX_MIN, room // (envs + 1))
        return each, max(FLEX_MIN, room - each * envs)

    def rebuild(self) -> None:
        """Show the rows again (after a read, a filter or another pair), the cursor kept."""
        project = self.project
        if project is None:
            return
        self.rows = matrix_rows(project, self.env_a, self.env_b)
        envs = tuple(e.key for e in project.environments)
        each, last = self._widths(len(envs))
        table = self.table
        current = self.selected_flag
        label = pair_label(self.env_a, self.env_b, last)
        columns = ("flag", *envs, label, each, last)
        if columns != self._columns:
            table.clear(columns=True)
            table.add_column("flag", width=FLAG_WIDTH)
            for env in envs:
                table.add_column(plain(env), width=each)
            table.add_column(plain(label), width=last)
            self._columns = columns
        else:
            table.clear()
        shown = [row for row in self.rows if row.differs or not self.only_differ]
        self.keys = [row.key for row in shown]
        for row in shown:
            cells = [Text(cut_cells(row.label, FLAG_WIDTH), style="bold", no_wrap=True)]
            for text, marked in zip(row.cells, row.marked, strict=True):
                shown_text = MARK + text if marked else text
                style = MARKED_STYLE if marked else ""
                cells.append(Text(cut_cells(shown_text, each), style=style, no_wrap=True))
            style = "cyan" if row.summary != "same" else "dim"
            cells.append(Text(cut_cells(row.summary, last), style=style, no_wrap=True))
            table.add_row(*cells)
        if current in self.keys:
            table.move_cursor(row=self.keys.index(current), animate=False)
        self._paint_header()

    def on_resize(self) -> None:
        """The columns for the new size (they were the size the matrix was read at)."""
        self.rebuild()

    @property
    def selected_flag(self) -> str | None:
        row = self.table.cursor_row
        return self.keys[row] if 0 <= row < len(self.keys) else None

    # -- keys ----------------------------------------------------------------------------------
    def action_toggle_differ(self) -> None:
        self.only_differ = not self.only_differ
        self.rebuild()

    def action_next_a(self) -> None:
        project = self._choosable()
        if project is not None:
            self.env_a = next_environment(project, self.env_a, skip=self.env_b)
            self.rebuild()

    def action_next_b(self) -> None:
        project = self._choosable()
        if project is not None:
            self.env_b = next_environment(project, self.env_b, skip=self.env_a)
            self.rebuild()

    def _choosable(self) -> ProjectConfigs | None:
        """The project when `a`/`b` has another environment to take; else a notification says
        why the key does nothing."""
        reason = no_other(self.project, self.env_a, self.env_b)
        if reason:
            self.app.notify(reason, severity="warning", markup=False, timeout=4)
            return None
        return self.project

    def action_refresh_all(self) -> None:
        self._read(full=True)

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        project = self.project
        if project is None or not 0 <= event.cursor_row < len(self.keys):
            return
        key, env_a, env_b = self.keys[event.cursor_row], self.env_a, self.env_b
        source = partial(self.diff_read, key, env_a, env_b)
        diff = EnvDiffScreen(key, env_a, env_b, source, self.clock, self.action_refresh_all)
        self.app.push_screen(diff)

    def diff_read(self, key: str, env_a: str, env_b: str) -> DiffRead:
        """The flag in A and B as last read (the side-by-side follows the reads while open)."""
        project = self.project
        configs = project.configs if project is not None else {}
        return DiffRead(
            configs.get(env_a, {}).get(key),
            configs.get(env_b, {}).get(key),
            project.read_at if project is not None else 0.0,
            refreshing=self.busy,
            error=self.error,
        )
