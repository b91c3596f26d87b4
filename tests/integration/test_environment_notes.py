"""When the monitor says that the environment is not verified, and how a rejected key is said.

"Environment not verified: events show the environment's id" is about the events a live
stream brings. A key the server rejects (the probe's 401, and then the stream's) is no
question of environment: the rejection is said once, with the server's reason and the key
masked. An unreachable host's connection errors say what is wrong; the note comes only once a
stream is live and the environment is still unverified."""

from __future__ import annotations

from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.client.environment_check import probe_environment
from togul_monitor.client.evaluate import EvaluateClient
from togul_monitor.core import Monitor
from togul_monitor.core.updates import Noticed
from togul_monitor.domain.events import ConnectionState, Status
from togul_monitor.emulator.harness import EmulatorHandle
from togul_monitor.support.text import mask_secret

from .test_environment_check import profile
from .test_monitor import Recorder, wait_for

WRONG_KEY = "tgl_sdk_wrongwrongwrongwrong0000"  # of scope sdk, unknown to the server


def test_tail_says_a_rejected_key_once(emulator: EmulatorHandle) -> None:
    args = ["tail", "--url", emulator.base_url, "--api-key", WRONG_KEY]
    result = CliRunner().invoke(cli, [*args, "--environment", "production", "--no-record"])
    assert result.exit_code == 3, result.output
    assert "not verified" not in result.stderr, result.stderr
    said = [line for line in result.stderr.splitlines() if "rejected" in line]
    assert len(said) == 1, result.stderr
    # The server's reason in the one wording of an error body (evaluate's, the probe's too).
    assert "HTTP 401 unauthorized: Invalid or revoked API key" in said[0], said
    assert mask_secret(WRONG_KEY) in said[0] and WRONG_KEY not in result.output


async def test_the_stream_evaluate_and_the_probe_word_the_servers_401_alike(
    emulator: EmulatorHandle,
) -> None:
    probe = await probe_environment(emulator.base_url, WRONG_KEY, "production", flag_key="x")
    evaluate = EvaluateClient(emulator.base_url, api_key=WRONG_KEY, environment_key="production")
    try:
        evaluated = await evaluate.evaluate("x")
    finally:
        await evaluate.aclose()
    monitor = Monitor(profile(emulator, "production", api_key=WRONG_KEY), record=False)
    await monitor.start()
    try:
        await wait_for(
            lambda: monitor.snapshot().status.state is ConnectionState.STOPPED, what="the stop"
        )
        streamed = monitor.snapshot().status.error
    finally:
        await monitor.stop()
    said = "HTTP 401 unauthorized: Invalid or revoked API key"
    assert probe.detail == evaluated.message == said
    assert streamed == f"credentials rejected ({said})"


async def test_a_rejected_key_leaves_no_not_verified_note(emulator: EmulatorHandle) -> None:
    # What the TUI's status bar shows: the rejection, no "(not verified)" beside the name.
    monitor = Monitor(profile(emulator, "production", api_key=WRONG_KEY), record=False)
    await monitor.start()
    try:
        await wait_for(
            lambda: monitor.snapshot().status.state is ConnectionState.STOPPED, what="the stop"
        )
        snapshot = monitor.snapshot()
        assert snapshot.status.credentials_rejected
        assert "HTTP 401 unauthorized: " in (snapshot.status.error or "")
        assert not any("not verified" in n for n in snapshot.notices), snapshot.notices
        assert snapshot.environment_verified
    finally:
        await monitor.stop()


def test_tail_to_an_unreachable_host_says_only_that_it_cannot_connect() -> None:
    args = ["tail", "--url", "http://127.0.0.1:9", "--api-key", WRONG_KEY, "--no-record"]
    result = CliRunner().invoke(cli, [*args, "--environment", "production", "--give-up-after", "1"])
    assert result.exit_code == 1, result.output
    assert "cannot connect to 127.0.0.1:9" in result.stderr, result.stderr
    assert "not verified" not in result.stderr, result.stderr


async def test_a_probe_without_answer_says_not_verified_once_the_stream_is_live(
    emulator: EmulatorHandle,
) -> None:
    # Evaluate answers 503 for good: the environment stays unverified while events come.
    emulator.faults.fail_evaluate(1_000, status=503)
    key = emulator.credentials.keys["production"]["sdk"]
    monitor = Monitor(profile(emulator, "production", api_key=key), record=False)
    recorder = Recorder(monitor)
    seen = recorder.items
    await monitor.start()
    recorder.start()
    try:
        await wait_for(lambda: any(isinstance(i, Noticed) for i in seen), what="the notice")
        notice = next(i for i in seen if isinstance(i, Noticed))
        assert "environment not verified" in notice.text and "503" in notice.text
        assert "events show the environment's id" in notice.text
        live = [i for i in seen if isinstance(i, Status) and i.state is ConnectionState.LIVE]
        assert live and seen.index(live[0]) < seen.index(notice)  # once the stream is live
        snapshot = monitor.snapshot()
        assert notice.text in snapshot.notices and not snapshot.environment_verified
    finally:
        await monitor.stop()
