"""The monitor's integration tests run against both stream forms of the emulator.

`emulator_any` is a fresh seeded emulator (seed 0, heartbeat 0.2 s), once in the documented form
(`data:` lines only: no `id:`, no `retry:`, no replay; what a real Togul server sends, see
docs/protocol.md) and once with ids (`id:` on every event, `retry:` at connect, replay of 1000
from `Last-Event-ID`). Everything the monitor claims must hold in the documented form; a test
that needs ids (an event tied to its transition by id, a resume without missed events) uses the
`emulator` fixture of tests/conftest.py, which has them, and says why.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from togul_monitor.emulator.harness import EmulatorHandle, running_emulator

STREAM_FORMS = ("documented", "ids")


@pytest.fixture(params=STREAM_FORMS)
def stream_form(request: pytest.FixtureRequest) -> str:
    """`documented` (no ids: the default of the emulator, `serve` and the demo) or `ids`."""
    form: str = request.param
    return form


@pytest.fixture
def emulator_any(stream_form: str) -> Iterator[EmulatorHandle]:
    """A fresh seeded emulator in the stream form `stream_form` names."""
    with running_emulator(seed=0, heartbeat=0.2, replay=1000, ids=stream_form == "ids") as emu:
        yield emu
