"""Constants of the Togul wire protocol.

The only module the emulator and the client side share (see docs/architecture.md): names,
never parsing or model code, so that each side stays an independent check of the other.
"""

from __future__ import annotations

STREAM_PATH = "/api/v1/stream"
EVALUATE_PATH = "/api/v1/evaluate"

#: The six event types in the order of the TUI's `1`–`6` toggle keys.
EVENT_TYPES: tuple[str, ...] = (
    "flag.created",
    "flag.updated",
    "flag.deleted",
    "rule.created",
    "rule.updated",
    "rule.deleted",
)

#: The fields every event payload must carry (docs/protocol.md, the change stream).
EVENT_FIELDS: tuple[str, ...] = ("type", "flag_key", "environment_id", "version", "timestamp")

VALUE_TYPES: tuple[str, ...] = ("boolean", "string", "number", "json")

KEY_PREFIXES = {"server": "tgl_srv_", "sdk": "tgl_sdk_", "stream": "tgl_str_"}
