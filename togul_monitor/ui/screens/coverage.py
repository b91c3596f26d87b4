"""`o`: the selected flag's rollout coverage. Synthetic users of each of the profile's contexts are
evaluated (core/coverage.py: paced, bounded) and the screen shows, per context, the share of
each value and, per rule, how it meets the context and for a percentage rule its configured
share against the observed one (ui/view/coverage.py). With a token the run reads the flag's
configuration before and after sampling: when it changed in between, the screen says so first
and shows no rule's shares (core/coverage.py).

The sampler runs in a thread worker on a loop of its own (`CoverageRun`), never on the UI's loop
nor the monitor's, with an evaluate client of its own: the monitor's values and counters are
untouched. Progress and the result come back as messages. `esc` closes the screen and cancels
the run (also when the screen goes any other way: `on_unmount`).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker

from togul_monitor.config.profiles import Profile
from togul_monitor.core.coverage import DEFAULT_SAMPLES, CoverageRun
from togul_monitor.domain.coverage import CoverageResult
from togul_monitor.domain.flag_config import FlagConfig
from togul_monitor.ui.screens.modal_keys import close_and_help, modal_footer
from togul_monitor.ui.view.coverage import (
    RULE_HEADER,
    VALUE_HEADER,
    coverage_tables,
    no_config_note,
    progress_line,
    run_warning,
    summary_line,
)
from togul_monitor.ui.view.format import plain
from togul_monitor.ui.worker_errors import report_worker_error

PROGRESS_EVERY = 10  # samples between two progress messages (the last one always comes)


@dataclass
class CoverageProgress(Message):
    done: int
    total: int


@dataclass
class CoverageDone(Message):
    result: CoverageResult | None  # None: cancelled


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], styles: tuple[str, ...]) -> Table:
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="dim")
    for name, style in zip(header, styles, strict=True):
        table.add_column(name, style=style)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # plain text: server strings, no markup
    return table


class CoverageScreen(ModalScreen[None]):
    BINDINGS = close_and_help("coverage_close", "close", "Close and stop sampling")
    HELP_TITLE = "rollout coverage (o)"

    DEFAULT_CSS = """
    CoverageScreen { align: center middle; }
    CoverageScreen > VerticalScroll {
        width: 90%; max-width: 120; height: 90%; border: thick $accent; background: $surface;
        padding: 0 1;
    }
    CoverageScreen #coverage-state { color: $text-muted; }
    """

    def __init__(
        self,
        profile: Profile,
        flag_key: str,
        config: FlagConfig | None,
        samples: int = DEFAULT_SAMPLES,
    ) -> None:
        super().__init__()
        self.flag_key = flag_key
        self.result: CoverageResult | None = None
        self.done = 0
        self.run = CoverageRun(
            profile, flag_key, config=config, samples=samples, progress=self._progress
        )
        self.total = self.run.samples * len(self.run.contexts)

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = plain(f"coverage · {self.flag_key}")
            box.border_subtitle = "esc close (and stop sampling)"
            yield Static(Text(progress_line(self.flag_key, 0, self.total)), id="coverage-state")
            yield Static("", id="coverage-body")
        yield modal_footer()

    def on_mount(self) -> None:
        self.run_worker(
            self._sample, thread=True, group="coverage", name="coverage", exit_on_error=False
        )

    def on_unmount(self) -> None:
        self.run.cancel()

    def action_close(self) -> None:
        self.run.cancel()
        self.dismiss(None)

    # -- the worker's side ----------------------------------------------------------------------
    def _sample(self) -> None:
        """On the worker's thread: the whole run, then its result as a message."""
        self.post_message(CoverageDone(self.run.run()))

    def _progress(self, done: int, total: int) -> None:
        """On the worker's thread: a message now and then (posting is thread-safe)."""
        if done == total or done % PROGRESS_EVERY == 0:
            self.post_message(CoverageProgress(done, total))

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if report_worker_error(self, event):
            self.query_one("#coverage-state", Static).update(Text("sampling failed"))

    # -- painting -------------------------------------------------------------------------------
    @on(CoverageProgress)
    def _show_progress(self, message: CoverageProgress) -> None:
        self.done = message.done
        if self.result is None:
            line = progress_line(self.flag_key, message.done, message.total)
            self.query_one("#coverage-state", Static).update(Text(line))

    @on(CoverageDone)
    def _show_result(self, message: CoverageDone) -> None:
        result = message.result
        if result is None:
            return
        self.result = result
        self.query_one("#coverage-state", Static).update(Text(summary_line(result)))
        parts: list[Table | Text] = []
        warning = run_warning(result)
        if warning:
            parts.append(Text(warning, style="bold yellow"))
        note = no_config_note(result)
        if note:
            parts.append(Text(note, style="italic"))
        for table in coverage_tables(result):
            parts.append(Text("\n" + table.title, style="bold"))
            parts.append(_table(VALUE_HEADER, [*table.values], ("cyan", "", "dim")))
            if table.rules:
                parts.append(_table(RULE_HEADER, [*table.rules], ("", "dim", "", "bold")))
            for line in table.notes:
                parts.append(Text(line, style="yellow"))
        self.query_one("#coverage-body", Static).update(Group(*parts))
