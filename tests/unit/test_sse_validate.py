"""Event data → FlagEvent or Malformed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from togul_monitor.client.validate import MAX_PAYLOAD_BYTES, RAW_KEEP, validate_event
from togul_monitor.domain.events import FlagEvent, Malformed

GOOD = {
    "type": "flag.updated",
    "flag_key": "new-dashboard",
    "environment_id": "3f2a",
    "version": 4,
    "timestamp": 1700000000,
}


def payload(**changes: object) -> str:
    obj = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            del obj[key]
        else:
            obj[key] = value
    return json.dumps(obj)


def test_a_good_event() -> None:
    item = validate_event(payload(), "7", 12.5)
    assert item == FlagEvent("flag.updated", "new-dashboard", "3f2a", 4, 1700000000, "7", 12.5)
    assert item.known_type


def test_float_timestamp_version_zero_and_extra_fields_are_accepted() -> None:
    item = validate_event(payload(timestamp=1.5, version=0, extra=[1]), None, 0.0)
    assert isinstance(item, FlagEvent)
    assert (item.timestamp, item.version) == (1.5, 0)


def test_unknown_type_passes_through_marked() -> None:
    item = validate_event(payload(type="segment.updated"), None, 0.0)
    assert isinstance(item, FlagEvent)
    assert item.known_type is False


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("not json", "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "not an object: an array"),
        ("null", "not an object: null"),
        (payload(version=True), "mistyped field version: expected an integer, got a boolean"),
        (payload(version=1.0), "mistyped field version"),
        # A decimal string ("3") is accepted now (test_tolerated_forms_...); other text is not.
        (payload(version="3a"), "mistyped field version"),
        (payload(version=" 3"), "mistyped field version"),
        (payload(version="3.0"), "mistyped field version"),
        (payload(timestamp="now"), "mistyped field timestamp"),
        (payload(timestamp=False), "mistyped field timestamp"),
        (payload(flag_key=None), "mistyped field flag_key: expected a string, got null"),
        (payload(type=6), "mistyped field type"),
        (payload(environment_id={}), "mistyped field environment_id"),
        (payload(flag_key=...), "missing field flag_key"),
        (payload(version=..., timestamp=...), "missing fields version, timestamp"),
        (
            '{"type": "flag.updated", "flag_key": "a", "environment_id": "e", "version": 1, '
            '"timestamp": NaN}',
            "mistyped field timestamp: not a finite number",
        ),
        ("[" * 100_000, "not JSON"),
    ],
)
def test_malformed(data: str, reason: str) -> None:
    item = validate_event(data, "9", 3.0)
    assert isinstance(item, Malformed)
    assert item.reason.startswith(reason)
    assert item.event_id == "9"
    assert len(item.raw) <= RAW_KEEP + 1


@pytest.mark.parametrize(
    ("changes", "version", "timestamp"),
    [
        ({"version": "7"}, 7, 1700000000),
        ({"version": "0"}, 0, 1700000000),
        ({"version": "-2"}, -2, 1700000000),
        ({"timestamp": 1700000000123}, 4, 1700000000.123),
        ({"timestamp": 1700000000123.5}, 4, 1700000000.1235),
        ({"timestamp": "2023-11-14T22:13:20Z"}, 4, 1700000000.0),
        ({"timestamp": "2023-11-14T22:13:20.5z"}, 4, 1700000000.5),
        ({"timestamp": "2023-11-15T00:13:20+02:00"}, 4, 1700000000.0),
        ({"timestamp": "2023-11-14T17:13:20-05:00"}, 4, 1700000000.0),
        ({"timestamp": "2023-11-14T22:13:20"}, 4, 1700000000.0),  # naive: UTC
        ({"version": "9", "timestamp": "2023-11-14 22:13:20Z"}, 9, 1700000000.0),
    ],
)
def test_tolerated_forms_become_the_same_event_fields(
    changes: dict[str, object], version: int, timestamp: float
) -> None:
    item = validate_event(payload(**changes), "5", 1.0)
    assert isinstance(item, FlagEvent), item
    assert type(item.version) is int and item.version == version
    assert item.timestamp == pytest.approx(timestamp, abs=1e-6)
    assert (item.flag_key, item.environment_id, item.type) == (
        "new-dashboard",
        "3f2a",
        GOOD["type"],
    )


def test_seconds_stay_seconds_up_to_the_milliseconds_threshold() -> None:
    item = validate_event(payload(timestamp=99_999_999_999), None, 0.0)  # the year 5138, in s
    assert isinstance(item, FlagEvent) and item.timestamp == 99_999_999_999
    item = validate_event(payload(timestamp=100_000_000_001), None, 0.0)  # 1973, in ms
    assert isinstance(item, FlagEvent) and item.timestamp == pytest.approx(100_000_000.001)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (payload(flag_key=...), "missing field flag_key"),
        (payload(flag_key=""), "bad field flag_key: empty"),
        (payload(flag_key=None), "mistyped field flag_key"),
        (payload(flag_key=7), "mistyped field flag_key"),
        (payload(flag_key=["a"]), "mistyped field flag_key"),
        (payload(version=...), "missing field version"),
        (payload(version="x"), "mistyped field version"),
        (payload(timestamp="yesterday"), "mistyped field timestamp"),
        (payload(timestamp="2023-13-01T00:00:00Z"), "mistyped field timestamp"),
        (payload(environment_id=None), "mistyped field environment_id"),
        (payload(version=2**63), "bad field version"),
        ("{}", "missing fields type, flag_key, environment_id, version, timestamp"),
    ],
)
def test_an_object_that_is_no_usable_event_asks_for_every_value_again(
    data: str, reason: str
) -> None:
    # What every official SDK does with such an event: "something changed", drop the cache.
    item = validate_event(data, "3", 0.0)
    assert isinstance(item, Malformed)
    assert item.reason.startswith(reason), item.reason
    assert item.re_evaluate is True


@pytest.mark.parametrize("data", ["not json", "", "[1, 2]", "null", '"flag"', "7"])
def test_data_that_is_not_an_object_is_only_counted(data: str) -> None:
    item = validate_event(data, None, 0.0)
    assert isinstance(item, Malformed) and item.re_evaluate is False


def test_an_oversized_payload_is_not_parsed_and_asks_for_nothing() -> None:
    item = validate_event(payload(flag_key="k" * MAX_PAYLOAD_BYTES), None, 0.0)
    assert isinstance(item, Malformed) and item.re_evaluate is False


def test_oversized_is_refused_and_truncated() -> None:
    big = payload(flag_key="k" * MAX_PAYLOAD_BYTES)
    item = validate_event(big, None, 0.0)
    assert isinstance(item, Malformed)
    assert item.reason.startswith("oversized")
    assert len(item.raw) == RAW_KEEP + 1


def test_oversized_counts_utf8_bytes_not_characters() -> None:
    big = payload(flag_key="€" * (MAX_PAYLOAD_BYTES // 3 + 10)).replace("\\u20ac", "€")
    assert len(big) < MAX_PAYLOAD_BYTES
    assert isinstance(validate_event(big, None, 0.0), Malformed)


@given(st.text(max_size=300))
def test_any_text_gives_an_item_never_an_exception(text: str) -> None:
    assert isinstance(validate_event(text, None, 0.0), (FlagEvent, Malformed))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (payload(version=2**63), "bad field version: outside the 64-bit integer range"),
        (payload(version=-(2**63) - 1), "bad field version: outside the 64-bit integer range"),
        (payload(timestamp=2**63), "bad field timestamp: outside the years 1-9999"),
        (payload(timestamp=1e300), "bad field timestamp: outside the years 1-9999"),
        (payload(timestamp=-1e12), "bad field timestamp: outside the years 1-9999"),
        (payload(flag_key="\ud800"), "bad field flag_key: not valid Unicode (a lone surrogate)"),
        (payload(type="x\udfff"), "bad field type: not valid Unicode (a lone surrogate)"),
        (payload(environment_id="\ud83d"), "bad field environment_id: not valid Unicode"),
    ],
)
def test_values_that_cannot_be_stored_or_shown_are_malformed(data: str, reason: str) -> None:
    # Such values used to pass and then kill the journal's writer thread or the detail
    # screen's time formatting.
    item = validate_event(data, "1", 0.0)
    assert isinstance(item, Malformed)
    assert item.reason.startswith(reason)


def test_the_storable_extremes_pass() -> None:
    item = validate_event(
        payload(version=2**63 - 1, timestamp=253_402_300_799, flag_key="é🙂"), None, 0
    )
    assert isinstance(item, FlagEvent) and item.version == 2**63 - 1
    assert isinstance(validate_event(payload(version=-(2**63)), None, 0), FlagEvent)
