"""The stream client: connect, read, validate, retry, resume, watch for a dead stream.

`StreamClient.items()` yields the items of `events.py` until the stream is STOPPED (then it ends)
or the consuming task is cancelled. Nothing here knows about a UI.

How it is put together (and why):

* A producer task owns the connection loop; `batches()` drains a queue of *batches* (one per
  received chunk) and `items()` flattens them, so the per-event cost stays low and `restart()`
  can interrupt a read or a backoff wait by cancelling the producer's current phase. The queue
  is bounded in batches: a slow consumer stops the socket reads (TCP backpressure) instead of
  growing memory.
* Decoding: `sse_fast.py` takes runs of plain events in bulk, the exact decoder (`sse.py`) the
  rest; `items.py` and `items_run.py` turn them into items (docs/stream-client.md, the fast path).
* One `httpx.AsyncClient` per kind of URL, made at first use: the one for `http://` never
  meets a certificate, so it is made with `verify=False` and loads no CA bundle (tens of
  milliseconds); `https://`, including a redirect to it, gets its own that verifies as asked.
* Policy (docs/stream-client.md, the reconnect policy): connect timeout 10 s; a read timeout
  that any byte resets, comments included, so heartbeats keep a healthy stream alive; backoff
  in `backoff.py` (a connection that delivered new events, or lived a few seconds, resets it);
  a valid `retry:` sets its base; `Retry-After` is a floor; clean EOF and transport errors
  reconnect; what stops, and the words for it, are in `attempt.py`. Redirects are followed by
  hand (`attempt.redirect_target`: each target meets the base URL's http/loopback rule), and
  credentials go only to their origin.
* `Last-Event-ID` is the spec's last event id string, carried across connections and runs
  (`resumed`: where the earlier one stopped, and the outage between), sent as UTF-8 bytes.
* Items (validation, duplicates, gaps, counts): `items.py`. Outages: `outages.py`.
"""

from __future__ import annotations

import asyncio
import random as _random
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing, suppress

import httpx

from togul_monitor.client import attempt
from togul_monitor.client.attempt import Outcome, not_an_event_stream, not_sent, refused
from togul_monitor.client.backoff import Backoff
from togul_monitor.client.credentials import Offered, stream_credentials
from togul_monitor.client.http import describe, origin, raw_headers
from togul_monitor.client.items import ItemBuilder
from togul_monitor.client.outages import OutageTracker, ResumePoint
from togul_monitor.client.sse import MAX_EVENT, MAX_LINE
from togul_monitor.client.sse_fast import FastParsed, FastSSEDecoder
from togul_monitor.client.tls import trust_env_for
from togul_monitor.client.tokens import TokenKeeper, auth_headers, renew_once
from togul_monitor.domain.events import ConnectionState, Status, StreamCounters, StreamItem
from togul_monitor.protocol import STREAM_PATH
from togul_monitor.support.text import safe_text

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_MAX_QUEUED_BATCHES = 64
CONNECT_TIMEOUT = 10.0  # seconds for the TCP (and TLS) connection to be made


class _End:
    """Ends `items()` (the producer stopped)."""


_END = _End()
_Batch = list[StreamItem] | BaseException | _End
_RESTARTED = object()  # what a phase returns when restart() cut it short


class StreamClient:
    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        token: str | None = None,
        read_timeout: float = 90.0,
        connect_timeout: float = CONNECT_TIMEOUT,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        random: Callable[[], float] = _random.random,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        verify: bool = True,
        last_event_id: str | None = None,
        resumed: ResumePoint | None = None,
        tokens: TokenKeeper | None = None,
        max_line: int = MAX_LINE,
        max_event: int = MAX_EVENT,
        allow_insecure: bool = False,
        silence_hint: str = "",
    ) -> None:
        self.url = base_url.rstrip("/") + STREAM_PATH
        self.tokens = tokens  # a Bearer token kept fresh (tokens.py): read per connection
        credentials = stream_credentials(Offered(api_key, token))
        self._credentials = credentials.headers()
        #: How the stream authenticates: "api-key" (one environment), "bearer" (the whole
        #: organisation) or None.
        self.auth = credentials.auth
        self.read_timeout = read_timeout
        self._timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=10.0, pool=10.0
        )
        self._clock, self._monotonic, self._sleep, self._verify = clock, monotonic, sleep, verify
        #: Said after a read timeout's error when no heartbeat came on that connection: why the
        #: read timeout may be too short for the server (core/stream_factory.py `silence_hint`).
        self.silence_hint = silence_hint
        self._allow_insecure = allow_insecure  # plain http to any host, redirects included
        self._limits = (max_line, max_event)  # the decoder's caps, in characters
        self.backoff = Backoff(random=random)
        self.counters = StreamCounters()
        #: The spec's last event id string ("" = none); sent as Last-Event-ID when non-empty.
        self._last_event_id = last_event_id or (resumed.event_id if resumed else None) or ""
        self.state: ConnectionState | None = None
        self._clients: dict[tuple[bool, bool], httpx.AsyncClient] = {}  # see _client_for
        self._queue: asyncio.Queue[_Batch] | None = None
        self._space = asyncio.Event()
        self._producer: asyncio.Task[None] | None = None
        self._phase_task: asyncio.Task[object] | None = None
        self._restart_requested = False
        self._silent = False  # the last connection ended by the read timeout (see _read)
        self._builder = ItemBuilder(self.counters)
        self._outages = OutageTracker(
            self._emit, clock, resumed=resumed, versions=self._builder.versions
        )

    # ---------------------------------------------------------------- public API

    @property
    def last_event_id(self) -> str | None:
        return self._last_event_id or None

    async def items(self) -> AsyncIterator[StreamItem]:
        """Run the stream; yield items until STOPPED (then return) or cancelled.

        Consume it with `async for` in one task; cancelling that task closes the connection.
        If you break out early, call `aclose()` (or use `contextlib.aclosing`).
        """
        async with aclosing(self.batches()) as batches:
            async for batch in batches:
                for item in batch:
                    yield item

    async def batches(self) -> AsyncGenerator[list[StreamItem], None]:
        """Run the stream; yield lists of items (one per network read, in order, never empty)
        until STOPPED (then return) or cancelled. The same rules as `items()`, which is this
        flattened: a consumer that handles a batch at a time saves a step per item."""
        if self._producer is not None and not self._producer.done():
            raise RuntimeError("items() is already running for this client")
        queue: asyncio.Queue[_Batch] = asyncio.Queue()
        self._queue = queue
        self._space.set()
        self._producer = asyncio.create_task(self._run(), name="togul-stream")
        try:
            while True:
                batch = await queue.get()
                if queue.qsize() < _MAX_QUEUED_BATCHES // 2:
                    self._space.set()
                if isinstance(batch, _End):
                    return
                if isinstance(batch, BaseException):
                    raise batch
                yield batch
        finally:
            await self._stop_producer()

    def restart(self) -> None:
        """Drop the connection (or the backoff wait) and connect again at once. Call it on the
        loop that runs `items()`; from another thread, `loop.call_soon_threadsafe(client.restart)`.
        """
        self._restart_requested = True
        if self._phase_task is not None and not self._phase_task.done():
            self._phase_task.cancel()

    async def aclose(self) -> None:
        """Stop the stream and close the HTTP client. Safe to call more than once."""
        await self._stop_producer()
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()

    def _client_for(self, url: httpx.URL) -> httpx.AsyncClient:
        """The client for `url`'s scheme; plain http to loopback skips proxies (client/tls.py)."""
        tls = url.scheme != "http"
        trust_env = trust_env_for(str(url))
        client = self._clients.get((tls, trust_env))
        if client is None:
            client = httpx.AsyncClient(
                timeout=self._timeout,
                verify=self._verify if tls else False,
                follow_redirects=False,
                trust_env=trust_env,
            )
            self._clients[(tls, trust_env)] = client
        return client

    # ---------------------------------------------------------------- producer

    async def _stop_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None and not producer.done():
            producer.cancel()
            with suppress(asyncio.CancelledError):
                await producer
        self._outages.cancel()

    def _emit(self, batch: list[StreamItem]) -> None:
        if self._queue is not None:
            self._queue.put_nowait(batch)

    def _status(self, status: Status) -> None:
        self.state = status.state
        self._emit([status])

    async def _run(self) -> None:
        try:
            while True:
                self._status(Status(ConnectionState.CONNECTING, at=self._clock()))
                self._restart_requested = False
                outcome = await self._phase(self._connect_and_read())
                if outcome is _RESTARTED:  # restart(): reconnect at once, with a fresh backoff
                    self.backoff.reset()
                    self.counters.reconnects += 1
                    continue
                assert isinstance(outcome, Outcome)
                if outcome.stop:
                    self._status(
                        Status(
                            ConnectionState.STOPPED,
                            at=self._clock(),
                            error=outcome.error,
                            credentials_rejected=outcome.credentials_rejected,
                        )
                    )
                    break
                delay = self.backoff.next_delay(retry_after=outcome.retry_after)
                now = self._clock()
                self._status(
                    Status(
                        ConnectionState.RETRYING,
                        at=now,
                        attempt=self.backoff.attempt,
                        next_try_at=now + delay,
                        error=outcome.error,
                    )
                )
                self.counters.reconnects += 1
                if self._restart_requested:
                    self.backoff.reset()
                elif await self._phase(self._sleep(delay)) is _RESTARTED:
                    self.backoff.reset()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug: surface it from items(), do not hide it
            if self._queue is not None:
                self._queue.put_nowait(exc)
            return
        finally:
            self._outages.cancel()
        if self._queue is not None:
            self._queue.put_nowait(_END)

    async def _phase(self, work: Awaitable[object]) -> object:
        """Run one phase (a connection or a wait) as a task `restart()` can cancel.

        Returns its result, or `_RESTARTED` when `restart()` cancelled it.
        """
        task = asyncio.ensure_future(work)
        self._phase_task = task
        try:
            await asyncio.wait({task})
        finally:
            self._phase_task = None
            if not task.done():  # we are being cancelled ourselves
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
        if task.cancelled():
            return _RESTARTED
        return task.result()

    # ---------------------------------------------------------------- one connection

    async def _connect_and_read(self) -> Outcome:
        try:
            url = httpx.URL(self.url)
        except httpx.InvalidURL as exc:
            return Outcome(f"invalid URL: {safe_text(exc)}", stop=True)
        home = origin(url)
        headers: dict[str, str | bytes] = {
            "Accept": "text/event-stream",
            "Cache-Control": "no-cache",
            # A compressing proxy or server may buffer a stream to fill its blocks.
            "Accept-Encoding": "identity",
        }
        sent_id = self._last_event_id or None
        if sent_id:
            headers["Last-Event-ID"] = sent_id.encode("utf-8")
        renewed, hops = False, 0  # a try after a token refresh is not a redirect's hop
        while hops <= _MAX_REDIRECTS:
            hop_headers = dict(headers)
            if origin(url) == home:
                hop_headers.update(auth_headers(self.tokens, self._credentials))
            try:
                http = self._client_for(url)
                request = http.build_request("GET", url, headers=raw_headers(hop_headers))
                response = await http.send(request, stream=True)
            except Exception as exc:  # noqa: BLE001 - every failure to send is an outcome
                return not_sent(exc, self._timeout)
            try:
                if (status := response.status_code) in _REDIRECTS:
                    target = attempt.redirect_target(response, allow_insecure=self._allow_insecure)
                    if isinstance(target, Outcome):
                        return target
                    url, hops = target, hops + 1
                    continue
                if status != 200:
                    if status == 401 and await renew_once(self.tokens, hop_headers, renewed):
                        renewed = True  # one more try, with the new token; a second 401 stops
                        continue
                    return await refused(
                        response,
                        tokens=self.tokens,
                        credentials=self._credentials,
                        clock=self._clock,
                        elsewhere=origin(url) != home,
                    )
                return not_an_event_stream(response) or await self._read(response, sent_id)
            finally:
                await response.aclose()
        return Outcome(f"more than {_MAX_REDIRECTS} redirects", stop=True)

    async def _read(self, response: httpx.Response, sent_id: str | None) -> Outcome:
        now = self._clock()
        live_mono = self._monotonic()
        # The connection's last sign of life (its headers, then each chunk): an outage starts
        # there, however the connection ended (read timeout, the peer's close after a stall,
        # a reset), since the changes lost were made in the silence before the end.
        last_byte_at = now
        # After a connection that went silent, headers prove nothing (a stalled server or proxy
        # answers them, then sends nothing again): live, and the outage's end, wait for a byte.
        live = not self._silent
        if live:
            self._live(now, sent_id)
        else:
            self._status(Status(ConnectionState.CONNECTING, at=now, error=attempt.NO_DATA_YET))
        max_line, max_event = self._limits
        decoder = FastSSEDecoder(self._last_event_id, max_line=max_line, max_event=max_event)
        events_before = self.counters.events
        retry_seen = decoder.retry
        error = "server ended the stream"
        timed_out = False  # ended by the read timeout: the next connection must prove itself
        try:
            async for chunk in response.aiter_bytes():
                last_byte_at = self._clock()  # once per read; `_items` takes it as its time
                if not live:
                    live, live_mono = True, self._monotonic()
                    self._live(last_byte_at, sent_id)
                self.counters.bytes += len(chunk)
                parsed = decoder.feed_runs(chunk)
                self._last_event_id = decoder.last_event_id
                if decoder.retry != retry_seen:
                    retry_seen = decoder.retry
                    if retry_seen is not None:
                        self.backoff.set_server_retry(retry_seen)
                if parsed:
                    batch = self._items(parsed, last_byte_at)
                    if batch:
                        self._emit(batch)
                        if self._queue is not None and self._queue.qsize() >= _MAX_QUEUED_BATCHES:
                            self._space.clear()
                            await self._space.wait()
        except httpx.HTTPError as exc:
            error = describe(exc, self.read_timeout)
            timed_out = isinstance(exc, httpx.ReadTimeout)
            if timed_out and self.silence_hint and (self.last_heartbeat_at or 0.0) < now:
                error = f"{error}; {self.silence_hint}"
        finally:
            if live:  # else the outage goes on: this connection never brought anything
                self._outages.lost(last_byte_at)
            self._silent = timed_out or (self._silent and not live)  # never live: no proof
            lived = self._monotonic() - live_mono if live else 0.0  # never live: forgives none
            delivered = self.counters.events - events_before
            self.backoff.connection_ended(lived=lived, delivered=delivered)
        return Outcome(error)

    def _live(self, now: float, sent_id: str | None) -> None:
        self._outages.live(now, sent_id, self._builder.last_numeric)
        self._status(Status(ConnectionState.LIVE, at=now))

    def _items(self, parsed: list[FastParsed], now: float) -> list[StreamItem]:
        """Turn decoded events and comments, received at `now`, into stream items (the hot
        path)."""
        if not self._outages.awaiting:  # the common path: no outage to decide
            return self._builder.build(parsed, now)
        return self._outages.build_deciding(self._builder.build, parsed, now)

    @property
    def last_heartbeat_at(self) -> float | None:
        return self._builder.last_heartbeat_at
