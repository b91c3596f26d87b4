"""A spec-exact, incremental Server-Sent Events decoder (WHATWG HTML §9.2.5–9.2.6).

Why our own and not httpx-sse's: httpx-sse 0.4.3 holds a trailing CR until the next chunk
(a lone-CR stream dispatches late), keeps a leading BOM (the first event is lost), decodes with
the response charset, accepts `retry: -1`, emits empty events for id-only blocks and forgets the
last id across connections (docs/stream-client.md). This decoder fixes all of those and is faster,
because the common case (LF-only text) is handled with `str.split` on whole chunks.

Use one decoder per HTTP response (the BOM is stripped once per response body), seeded with the
last event id of the previous connection so that an event without an `id:` line still carries it
(see docs/stream-client.md). Feed it raw body bytes; it returns what each chunk completed.
"""

from __future__ import annotations

import codecs

# A `retry:` value longer than this is clamped by the client anyway; refusing to parse it also
# keeps int() away from its 4300-digit limit.
_MAX_RETRY_DIGITS = 12
_MAX_RETRY_MS = 10**_MAX_RETRY_DIGITS - 1


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
        "last_event_id",
        "retry",
    )

    def __init__(self, last_event_id: str = "") -> None:
        # utf-8-sig strips exactly one leading BOM, even when it arrives one byte at a time, and
        # leaves a later U+FEFF alone; errors="replace" turns invalid bytes into U+FFFD (U1).
        self._utf8 = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        self._partial: list[str] = []  # pieces of an unfinished line (a list: no quadratic +=)
        self._skip_lf = False  # the last chunk ended in CR: a leading LF belongs to that CRLF
        self._data: list[str] = []
        self._type = ""
        self._id = last_event_id  # the id buffer, seeded across connections (I6)
        self._block_has_id = False
        #: The spec's "last event ID string": copied from the id buffer at every dispatch.
        self.last_event_id = last_event_id
        #: The latest valid `retry:` value in milliseconds, or None if none was sent.
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[SSEEvent | Comment]:
        """Decode one chunk of the body; return the events and comments it completed."""
        text = self._utf8.decode(chunk)
        if not text:  # only part of a multi-byte character (or BOM) so far
            return []
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
            self._partial.append(text)
            return []
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = "".join(self._partial)
            self._partial = []
        rest = lines.pop()
        if rest:
            self._partial.append(rest)
        return self._lines(lines)

    def _lines(self, lines: list[str]) -> list[SSEEvent | Comment]:
        out: list[SSEEvent | Comment] = []
        data = self._data
        for line in lines:
            if not line:
                # Dispatch: the id is committed even when nothing is fired.
                self.last_event_id = self._id
                if data:
                    out.append(
                        SSEEvent(
                            self._type or "message", "\n".join(data), self._id, self._block_has_id
                        )
                    )
                    data = self._data = []
                self._type = ""
                self._block_has_id = False
                continue
            # Fast paths for the two lines of every real event; same result as the general
            # rule below (field before the first colon, one leading space dropped).
            if line.startswith("data: "):
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
        return out
