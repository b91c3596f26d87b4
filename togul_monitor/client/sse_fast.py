"""The SSE decoder's fast path: whole runs of plain events per network chunk.

Almost every byte a Togul server sends is one of two blocks, each ended by a blank line:

    data: <one line>                 (the documented form)
    id: <one line>                   (the emulator's `--ids` form, and servers that resume)
    data: <one line>

`FastSSEDecoder` takes such blocks straight out of each chunk's text with `str.split` and a few
prefix checks, and returns them as a `Run` (the data and ids of consecutive plain events) instead
of one `SSEEvent` each. Everything else goes through the exact decoder it extends (`sse.py`, the
reference), which holds all the state:

* a chunk with a CR (CR or CRLF line ends), a NUL, or that starts right after a CR;
* the start of a chunk, up to the first blank line, while an event or a line is unfinished;
* any block that is not exactly one of the two forms above (comments, `event:`, `retry:`, more
  than one data line, a field without its space, a stray BOM, blank lines in a row...);
* a block longer than the smaller of the caps (it might be oversized: the exact decoder counts);
* the unfinished block at the end of the chunk.

The fast path starts only where the exact decoder's state is that of a fresh block, and every
piece handed back ends with a blank line, so the state is fresh again after it: the two paths
cannot disagree (tests/unit/test_sse_fast.py checks it on random streams and chunkings).
"""

from __future__ import annotations

from togul_monitor.client.sse import Parsed, SSEDecoder, SSEEvent


class Run:
    """Consecutive plain events of one chunk, type "message".

    `ids[i]` is the value of the event's own `id:` line, or None when it has none (it then
    carries the last id before it: `carried` for the first ones, as the exact decoder does).
    """

    __slots__ = ("datas", "ids", "carried")

    def __init__(self, datas: list[str], ids: list[str | None], carried: str) -> None:
        self.datas = datas
        self.ids = ids
        self.carried = carried

    def __repr__(self) -> str:
        return f"Run({len(self.datas)} events, carried={self.carried!r})"

    def events(self) -> list[SSEEvent]:
        """The run as the exact decoder reports it."""
        out: list[SSEEvent] = []
        last = self.carried
        for event_id, data in zip(self.ids, self.datas, strict=True):
            if event_id is None:
                out.append(SSEEvent("message", data, last, False))
            else:
                last = event_id
                out.append(SSEEvent("message", data, event_id, True))
        return out


FastParsed = Parsed | Run


def expand(parsed: list[FastParsed]) -> list[Parsed]:
    """Runs replaced by their events: what the exact decoder returns for the same input."""
    out: list[Parsed] = []
    for item in parsed:
        if isinstance(item, Run):
            out.extend(item.events())
        else:
            out.append(item)
    return out


class FastSSEDecoder(SSEDecoder):
    """An `SSEDecoder` whose `feed_runs` returns plain events in bulk (`Run`s)."""

    __slots__ = ()

    def feed(self, chunk: bytes) -> list[Parsed]:
        """Same as `SSEDecoder.feed` (the runs expanded into events)."""
        return expand(self.feed_runs(chunk))

    def feed_runs(self, chunk: bytes) -> list[FastParsed]:
        """Decode one chunk: events, comments and oversized reports, plain events as `Run`s."""
        text = self._utf8.decode(chunk)
        if not text:
            return []
        if self._skip_lf or "\r" in text or "\x00" in text:
            return list(self._feed_text(text))
        out: list[FastParsed] = []
        if not self._fresh():
            # Finish the event the previous chunk left open, up to its blank line.
            end = text.find("\n\n")
            if end < 0:
                return list(self._feed_text(text))
            out.extend(self._feed_text(text[: end + 2]))
            text = text[end + 2 :]
            if not text:
                return out
            if not self._fresh():  # cannot happen after a blank line: kept as a safety net
                out.extend(self._feed_text(text))
                return out
        blocks = text.split("\n\n")
        rest = blocks.pop()  # after the last blank line: an unfinished block, or ""
        cap = self._smaller_cap
        last_id = self._id
        datas: list[str] = []
        ids: list[str | None] = []
        carried = last_id
        for block in blocks:
            if len(block) <= cap:
                if block.startswith("data: "):
                    if "\n" not in block:
                        datas.append(block[6:])
                        ids.append(None)
                        continue
                elif block.startswith("id: "):
                    head, sep, data = block.partition("\ndata: ")
                    if sep and "\n" not in data and "\n" not in head:
                        last_id = head[4:]
                        datas.append(data)
                        ids.append(last_id)
                        continue
            # Not a plain block: the exact decoder takes it, with its blank line.
            if datas:
                out.append(Run(datas, ids, carried))
                datas, ids = [], []
            self._id = self.last_event_id = last_id
            out.extend(self._feed_text(block + "\n\n"))
            carried = last_id = self._id
        if datas:
            out.append(Run(datas, ids, carried))
        self._id = self.last_event_id = last_id
        if rest:
            out.extend(self._feed_text(rest))
        return out

    def _fresh(self) -> bool:
        """The exact decoder is at the start of a line and holds nothing of an event."""
        return not (
            self._partial
            or self._dropping_line
            or self._data
            or self._type
            or self._block_has_id
            or self._dropping_event
            or self._skip_lf
        )
