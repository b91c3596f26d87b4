"""`tail`'s loop over the monitor's updates (cli/tail.py): `--give-up-after` counts from the
last time the stream was live, and a stream that proved the profile wrong exits 2."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

from togul_monitor.cli.render import TailPrinter
from togul_monitor.cli.tail_loop import batches_of, print_updates
from togul_monitor.cli.tail_scope import TailScope
from togul_monitor.config.entry import Profile
from togul_monitor.config.errors import ConfigError
from togul_monitor.domain.events import ConnectionState, FlagEvent, Status

PROFILE = Profile(name="t", base_url="http://h", environment_key="")
REFUSED = "cannot connect: [Errno 111] Connection refused"


async def run(items: AsyncIterator[object], **options: Any) -> tuple[int, list[str], list[str]]:
    out, err = io.StringIO(), io.StringIO()
    printer = TailPrinter(out, err, as_json=False, environment_names={}, url="http://h/s")
    scope = TailScope(
        printer, query=None, environment_key="", known_names=dict, environment_id=lambda: None
    )
    code = await asyncio.wait_for(
        print_updates(
            batches_of(items), PROFILE, printer, scope, count=None, settle_mark=None, **options
        ),
        10,
    )
    return code, out.getvalue().splitlines(), err.getvalue().splitlines()


async def test_give_up_after_counts_from_the_last_time_the_stream_was_live() -> None:
    async def items() -> AsyncIterator[object]:
        yield Status(ConnectionState.CONNECTING, 0.0)
        yield Status(ConnectionState.LIVE, 0.0)
        await asyncio.sleep(0.3)  # live three times longer than the limit: no giving up
        yield FlagEvent("flag.updated", "k", "env", 1, 1.0, None, 1.0)
        yield Status(ConnectionState.RETRYING, 1.0, 1, 1.5, REFUSED)
        await asyncio.Event().wait()  # down for good

    code, out, err = await run(items(), give_up_after=0.1)
    assert code == 1
    assert len(out) == 1 and "flag.updated" in out[0]
    assert err[-1] == (
        "tail: giving up: the stream has not been live for 0.1 s (--give-up-after); "
        "last error: cannot connect to h:80: nothing accepted the connection"
    )


async def test_give_up_after_counts_from_the_start_when_never_live() -> None:
    async def items() -> AsyncIterator[object]:
        yield Status(ConnectionState.CONNECTING, 0.0)
        await asyncio.Event().wait()

    code, out, err = await run(items(), give_up_after=0.05)
    assert code == 1 and out == []
    assert err[-1] == "tail: giving up: the stream has not been live for 0.05 s (--give-up-after)"


async def test_a_stream_stopped_for_a_wrong_profile_is_a_configuration_error() -> None:
    async def items() -> AsyncIterator[object]:
        yield Status(ConnectionState.STOPPED, 0.0, error="the key belongs to another environment")

    wrong = ConfigError("the key belongs to another environment")
    code, _, err = await run(items(), configuration_error=lambda: wrong)
    assert code == 2
    assert err == ["tail: stopped: the key belongs to another environment"]
    code, _, _ = await run(items())
    assert code == 1  # stopped for another reason


async def test_past_the_limit_what_already_waits_is_read_before_giving_up() -> None:
    # The reader held the tail back past --give-up-after; meanwhile the stream came back:
    # its LIVE status waits there, and the tail goes on rather than give up on a live stream.
    async def items() -> AsyncIterator[object]:
        yield Status(ConnectionState.LIVE, 0.0)
        yield FlagEvent("flag.updated", "k", "env", 1, 1.0, None, 1.0)
        yield Status(ConnectionState.STOPPED, 2.0, error="done")

    started = asyncio.get_running_loop().time() - 60  # down since a minute ago
    code, out, err = await run(items(), give_up_after=0.1, started_at=started)
    assert not any("giving up" in line for line in err)
    assert len(out) == 1 and "flag.updated" in out[0] and code == 1  # stopped, as it says
