"""A spec-exact, incremental Server-Sent Events decoder (WHATWG HTML §9.2.5–9.2.6).

Why our own and not httpx-sse's: httpx-sse 0.4.3 holds a trailing CR until the next chunk
(a lone-CR stream dispatches late), keeps a leading BOM (the first event is lost), decodes with
the response charset, accepts `retry: -1`, emits empty events for id-only blocks and forgets the
last id across connections (docs/stream-client.md). This decoder fixes all of those and is faster,
because the common case (LF-only text) is handled with `str.split` on whole chunks. It is the
reference: the stream client runs `sse_fast.FastSSEDecoder`, which takes runs of plain events in
bulk and hands this decoder everything else.

Use one decoder per HTTP response (the BOM is stripped once per response body), seeded with the
last event id of the previous connection so that an event without an `id:` line still carries it
(see docs/stream-client.md). Feed it raw body bytes; it returns what each chunk completed.

Memory is bounded: a line longer than `max_line`, or an event whose data grows past `max_event`
(characters, 1 Mi each by default), is not kept. The decoder reports it once as `Oversized` (the
moment the limit is crossed, so a line that never ends is reported too), drops the whole event
(what it held, and every line up to the blank line that ends it) and decodes the next event as
usual. Without the cap a server that never sends a newline grows the client until it dies.
"""

from __future__ import annotations

import codecs

# A `retry:` value longer than this is clamped by the client anyway; refusing to parse it also
# keeps int() away from its 4300-digit limit.
_MAX_RETRY_DIGITS = 12
_MAX_RETRY_MS = 10**_MAX_RETRY_DIGITS - 1
#: Default caps (characters of decoded text): one line, and the data of one event.
MAX_LINE = 1 << 20
MAX_EVENT = 1 << 20
#: How much of an oversized line or event an `Oversized` keeps, to show what it was.
HEAD_KEEP = 200


class SSEEvent:
    """One dispatched event.

    `last_event_id` is the spec's lastEventId (the id buffer at dispatch, which persists across
    events); `has_id` says whether this event's own block set it, so that callers can tell
    "this event's id is 7" from "the last id anyone sent was 7".
    """

    __slots__ = ("type", "data", "last_event_id", "has_id")

    def __init__(self, type: str, data: str, last_event_id: str, has_id: bool) -> None:
        self.type = type
        self.data = data
        self.last_event_id = last_event_id
        self.has_id = has_id

    def __repr__(self) -> str:
        return (
            f"SSEEvent(type={self.type!r}, data={self.data!r}, "
            f"last_event_id={self.last_event_id!r}, has_id={self.has_id})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SSEEvent):
            return NotImplemented
        return (self.type, self.data, self.last_event_id, self.has_id) == (
            other.type,
            other.data,
            other.last_event_id,
            other.has_id,
        )


class Comment:
    """A comment line (`:` first): the server's keep-alive."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Comment({self.text!r})"


class Oversized:
    """An event dropped because a line or its data passed the decoder's cap: counted and shown
    (as a malformed event), never parsed. `head` is its first few characters."""

    __slots__ = ("reason", "head", "last_event_id", "has_id")

    def __init__(self, reason: str, head: str, last_event_id: str, has_id: bool) -> None:
        self.reason = reason
        self.head = head
        self.last_event_id = last_event_id
        self.has_id = has_id

    def __repr__(self) -> str:
        return f"Oversized({self.reason!r}, head={self.head[:20]!r})"


Parsed = SSEEvent | Comment | Oversized


def _head(pieces: list[str]) -> str:
    out: list[str] = []
    size = 0
    for piece in pieces:
        out.append(piece[: HEAD_KEEP - size])
        size += len(out[-1])
        if size >= HEAD_KEEP:
            break
    return "".join(out)


class SSEDecoder:
    """Bytes in, events and comments out. Not thread-safe; one per response."""

    __slots__ = (
        "_utf8",
        "_partial",
        "_skip_lf",
        "_data",
        "_type",
        "_id",
        "_block_has_id",
        "_partial_size",
        "_data_size",
        "_dropping_line",
        "_dropping_event",
        "max_line",
        "max_event",
        "_smaller_cap",
        "last_event_id",
        "retry",
    )

    def __init__(
        self, last_event_id: str = "", *, max_line: int = MAX_LINE, max_event: int = MAX_EVENT
    ) -> None:
        # utf-8-sig strips exactly one leading BOM, even when it arrives one byte at a time, and
        # leaves a later U+FEFF alone; errors="replace" turns invalid bytes into U+FFFD (U1).
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._partial: list[str] = []  # pieces of an unfinished line (a list: no quadratic +=)
        self._skip_lf = False  # the last chunk ended in CR: a leading LF belongs to that CRLF
        self._data: list[str] = []
        self._type = ""
        self._id = last_event_id  # the id buffer, seeded across connections (I6)
        self._block_has_id = False
        self._partial_size = 0  # characters in _partial
        self._data_size = 0  # characters of data in the event so far, a LF per line
        self._dropping_line = False  # the line being read passed max_line: skip to its end
        self._dropping_event = False  # the event being read was reported Oversized: skip it
        self.max_line = max(1, max_line)
        self.max_event = max(1, max_event)
        self._smaller_cap = min(self.max_line, self.max_event)
        #: The spec's "last event ID string": copied from the id buffer at every dispatch.
        self.last_event_id = last_event_id
        #: The latest valid `retry:` value in milliseconds, or None if none was sent.
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[Parsed]:
        """Decode one chunk of the body; return the events and comments it completed."""
        text = self._utf8.decode(chunk)
        if not text:  # only part of a multi-byte character (or BOM) so far
            return []
        return self._feed_text(text)

    def _feed_text(self, text: str) -> list[Parsed]:
        """The rules on decoded text: any piece of the body, cut anywhere (sse_fast.py hands
        over what its fast path does not take)."""
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            # The slow path, only for CR or CRLF streams. A CR ends a line at once (the spec's
            # buffering note): we never wait for the next byte to see whether an LF follows; we
            # remember to swallow that LF instead.
            if text[-1] == "\r":
                self._skip_lf = True
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        if len(lines) == 1:
            return self._extend_partial(text)
        # Only a chunk that, with what is held from before, is longer than a cap can take a line
        # or an event past it: the common case skips the per-line accounting.
        checked = (
            self._dropping_event
            or len(text) + self._partial_size + self._data_size > self._smaller_cap
        )
        if self._dropping_line:
            # The end of an over-long line: nothing of it was kept, nothing of it is parsed.
            self._dropping_line = False
            del lines[0]
        elif self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
            self._partial_size = 0
        rest = lines.pop()
        out = self._lines(lines, checked) if lines else []
        if rest:
            out.extend(self._extend_partial(rest))
        return out

    def _extend_partial(self, piece: str) -> list[Parsed]:
        """Keep the start of an unfinished line, up to `max_line`."""
        if self._dropping_line:
            return []
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size <= self.max_line:
            return []
        head = _head(self._partial)[: self.max_line]
        self._partial = []
        self._partial_size = 0
        self._dropping_line = True
        return self._oversized(f"a line longer than {self.max_line} characters", head)

    def _oversized(self, reason: str, head: str) -> list[Parsed]:
        """Report the event being read as oversized, once, and drop the rest of it."""
        self._data = []
        self._data_size = 0
        if self._dropping_event:
            return []
        self._dropping_event = True
        return [Oversized(reason, head, self._id, self._block_has_id)]

    def _lines(self, lines: list[str], checked: bool) -> list[Parsed]:
        out: list[Parsed] = []
        data = self._data
        held = len(data)  # data lines held from earlier chunks (until a dispatch: then none)
        for line in lines:
            if not line:
                # Dispatch: the id is committed even when nothing is fired.
                held = 0
                self.last_event_id = self._id
                if data:
                    out.append(
                        SSEEvent(
                            self._type or "message", "\n".join(data), self._id, self._block_has_id
                        )
                    )
                    data = self._data = []
                self._data_size = 0
                self._dropping_event = False
                self._type = ""
                self._block_has_id = False
                continue
            if checked and len(line) > self.max_line:
                out.extend(
                    self._oversized(
                        f"a line longer than {self.max_line} characters",
                        line[: min(HEAD_KEEP, self.max_line)],
                    )
                )
                data = self._data
                continue
            # Fast paths for the two lines of every real event; same result as the general
            # rule below (field before the first colon, one leading space dropped).
            if line.startswith("data: "):
                if checked:
                    out.extend(self._add_data(line[6:]))
                    data = self._data
                else:
                    data.append(line[6:])
                continue
            if line.startswith("id: "):
                value = line[4:]
                if "\x00" not in value:
                    self._id = value
                    self._block_has_id = True
                continue
            colon = line.find(":")
            if colon == 0:
                out.append(Comment(line[1:]))
                continue
            if colon < 0:
                name = line
                value = ""
            else:
                name = line[:colon]
                value = line[colon + 1 :]
                if value and value[0] == " ":
                    value = value[1:]
            if name == "data":
                if checked:
                    out.extend(self._add_data(value))
                    data = self._data
                else:
                    data.append(value)
            elif name == "id":
                if "\x00" not in value:  # an id with NUL is ignored entirely (I3)
                    self._id = value
                    self._block_has_id = True
            elif name == "event":
                self._type = value
            elif name == "retry":
                # Only ASCII digits count (R3): int() would also take "-1", " 5", "1_000", "١٢".
                if value.isascii() and value.isdigit():
                    self.retry = int(value) if len(value) <= _MAX_RETRY_DIGITS else _MAX_RETRY_MS
            # any other field name is ignored (F5), including one that starts with a 2nd BOM (B3)
        if not checked:
            # An event that goes on in the next chunk: what it holds counts towards its cap.
            # Only the lines this chunk added are summed: a server that drips one data line per
            # chunk must not make every chunk cost the whole event so far.
            added = data[held:]
            before = self._data_size if held else 0
            self._data_size = before + sum(map(len, added)) + len(added)
        return out

    def _add_data(self, value: str) -> list[Parsed]:
        """A data line, counted against the event's cap (a LF each)."""
        if self._dropping_event:
            return []
        self._data_size += len(value) + 1
        self._data.append(value)
        if self._data_size <= self.max_event:
            return []
        head = _head(self._data)
        return self._oversized(f"an event with more than {self.max_event} characters of data", head)
