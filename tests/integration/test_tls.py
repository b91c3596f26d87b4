"""An `https://` server whose certificate this machine does not trust: `tail` says why in plain
words and where a private CA goes, and with that CA named by SSL_CERT_FILE it streams.

The server is the emulator behind a TLS front on another loopback port (a thread relaying bytes
both ways), with the certificate of tests/tls/: `server.pem` for `localhost` and `127.0.0.1`,
signed by `ca.pem`, a test CA made for this (its key was thrown away; both valid until 2126)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from togul_monitor.cli import cli
from togul_monitor.client.tls import ca_problem
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import Profile
from togul_monitor.core.environment import prepare
from togul_monitor.emulator.harness import EmulatorHandle

from .test_stream_tail import activity, events_of

TLS = Path(__file__).resolve().parent.parent / "tls"
PROXIES = ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The front is on this machine: a proxy from the environment could not reach it."""
    for name in PROXIES:
        monkeypatch.delenv(name, raising=False)


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(1 << 16):
            writer.write(chunk)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@contextlib.contextmanager
def tls_front(port: int) -> Iterator[str]:
    """An `https://` base URL whose connections are relayed to 127.0.0.1:`port`."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "server.pem", TLS / "server-key.pem")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    bound: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_relay(reader, up_writer), _relay(up_reader, writer))

    async def serve() -> asyncio.Server:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
        bound.append(server.sockets[0].getsockname()[1])
        ready.set()
        return server

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve())
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield f"https://127.0.0.1:{bound[0]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_a_certificate_of_an_unknown_ca_is_said_with_where_the_ca_goes(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    key = emulator.credentials.keys["production"]["sdk"]
    with tls_front(emulator.port) as url:
        args = ["tail", "--url", url, "--api-key", key, "--environment", "production"]
        result = CliRunner().invoke(cli, [*args, "--give-up-after", "1.5s", "--no-record"])
    assert result.exit_code == 1, result.output
    where = url.removeprefix("https://")
    said = (
        f"cannot trust {where}: certificate refused (unable to get local issuer certificate); "
        "SSL_CERT_FILE (or SSL_CERT_DIR) may name the CA that signed it"
    )
    retries = [line for line in result.stderr.splitlines() if "attempt" in line]
    assert retries and all(line.startswith(f"tail: {said}; attempt ") for line in retries)
    assert result.stderr.splitlines()[-1].endswith(f"last error: {said}")
    assert "_ssl.c" not in result.stderr


def test_with_the_ca_named_by_ssl_cert_file_the_stream_is_read(
    emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "ca.pem"))
    key = emulator.credentials.keys["production"]["sdk"]
    with tls_front(emulator.port) as url, activity(emulator):
        args = ["tail", "--url", url, "--api-key", key, "--environment", "production"]
        result = CliRunner().invoke(cli, [*args, "--json", "--count", "2", "--no-record"])
    assert result.exit_code == 0, result.output
    events = events_of(result.stdout)
    assert len(events) == 2 and {e["flag_key"] for e in events} == {"new-dashboard"}
    assert events[0]["environment_key"] == "production"  # the key's check passed over TLS too


@pytest.mark.parametrize(
    ("variable", "name", "said"),
    [
        ("SSL_CERT_FILE", "missing.pem", "which is no CA file this can read: No such file"),
        ("SSL_CERT_FILE", "notes.txt", "which is no CA file this can read: [X509"),
        ("SSL_CERT_DIR", "missing", "which is not a folder"),
    ],
)
def test_a_ca_file_that_cannot_be_read_is_said_before_anything_connects(
    variable: str, name: str, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx loads it as each client is made: a traceback from the first request, before.
    (tmp_path / "notes.txt").write_text("not a certificate\n")
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    monkeypatch.setenv(variable, str(tmp_path / name))
    args = ["tail", "--url", "https://127.0.0.1:9", "--api-key", "tgl_sdk_0123456789abcdef0000"]
    result = CliRunner().invoke(cli, [*args, "--environment", "qa", "--no-record"])
    assert result.exit_code == 2, result.output
    line = result.stderr.splitlines()[-1]  # after the warning about a key on the command line
    assert line.startswith(f"tail: {variable} names '{tmp_path / name}', {said}"), line
    # A monitor started otherwise (the TUI's profile switch) is stopped with the same words.
    profile = Profile("tls", "https://127.0.0.1:9", "qa", api_key="tgl_sdk_0123456789abcdef0000")
    with pytest.raises(ConfigError, match=f"^{variable} names "):
        asyncio.run(prepare(profile, None))
    # Plain http never reads them.
    assert ca_problem("http://127.0.0.1:9") is None
