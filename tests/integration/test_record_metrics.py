"""`record --metrics-port`: /metrics scraped during a run against the emulator, after a known
sequence of changes, reads what happened: each flag's value per context, events by type and
environment, transitions, malformed events, an outage, an evaluate error."""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from togul_monitor.emulator.harness import EmulatorHandle

from .test_record import recording, sdk_key, wait_for, write_profiles

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(port: int) -> Samples:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0)
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset({"profile": "prod", **labels}.items())))


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    return {labels: v for (n, labels), v in samples.items() if n == name}


def test_metrics_read_the_flags_values_and_the_streams_counts(
    emulator: EmulatorHandle, isolated_home: Path
) -> None:
    key = sdk_key(emulator, "production")
    write_profiles(
        isolated_home,
        emulator,
        {
            "prod": {
                "environment": "production",
                "key": key,
                "context": {"user_id": "u-1", "plan": "free"},
                "contexts": {"premium": {"user_id": "u-2", "plan": "premium"}},
                # Without a token no flag is listed: the watched ones are evaluated up front.
                "watch": ["new-dashboard", "api-rate-limit", "welcome-message"],
            }
        },
    )
    args = ["--profile", "prod", "--metrics-port", "0", "--log-format", "json"]
    with recording(args) as recorder:
        port = int(recorder.wait_record("metrics listening", json.loads)["port"])
        recorder.wait_record("stream state", json.loads, profile="prod", state="live")

        def flag(name: str, context: str) -> float | None:
            labels = {"environment": "production", "flag": name, "context": context}
            return value(scrape(port), "togul_flag_value", **labels)

        def reads(name: str, context: str, expected: float) -> bool:
            return flag(name, context) == expected

        # The first evaluation: new-dashboard is on for premium plans only.
        wait_for(lambda: reads("new-dashboard", "premium", 1.0), "first values")
        wait_for(lambda: reads("api-rate-limit", "default", 100.0), "first values")
        assert flag("new-dashboard", "default") == 0.0
        assert flag("api-rate-limit", "premium") == 1000.0
        assert flag("welcome-message", "default") is None  # strings have no gauge

        world = emulator.world
        world.update_flag("production", "new-dashboard", enabled=False)
        wait_for(lambda: reads("new-dashboard", "premium", 0.0), "the switch off")
        world.update_flag("production", "new-dashboard", enabled=True)
        wait_for(lambda: reads("new-dashboard", "premium", 1.0), "the switch on again")
        world.update_flag("production", "api-rate-limit", default_value=250)
        wait_for(lambda: reads("api-rate-limit", "default", 250.0), "the new default")
        samples = scrape(port)
        assert (
            value(
                samples,
                "togul_flag_value",
                environment="production",
                flag="api-rate-limit",
                context="premium",
            )
            == 1000.0
        )  # its rule still wins
        assert (
            value(
                samples,
                "togul_flag_value",
                environment="production",
                flag="new-dashboard",
                context="default",
            )
            == 0.0
        )
        events = series(samples, "togul_events_total")
        assert events == {
            frozenset(
                {"profile": "prod", "type": "flag.updated", "environment": "production"}.items()
            ): 3.0
        }
        # A switch is a transition for every context (`enabled` changes, if not the value);
        # the new default only where no rule answers.
        transitions = {"default": 3.0, "premium": 2.0}

        def counted() -> dict[str, float | None]:
            samples = scrape(port)
            return {
                c: value(samples, "togul_value_transitions_total", context=c) for c in transitions
            }

        try:
            wait_for(lambda: counted() == transitions, "the transitions counted", timeout=5.0)
        except AssertionError:
            raise AssertionError(f"transitions: {counted()}") from None
        assert value(samples, "togul_stream_state", state="live") == 1.0
        for state in ("connecting", "retrying", "stopped"):
            assert value(samples, "togul_stream_state", state=state) == 0.0
        age = value(samples, "togul_heartbeat_age_seconds")
        assert age is not None and 0.0 <= age < 10.0
        lag = value(samples, "togul_lag_seconds")
        assert lag is not None and math.isfinite(lag) and abs(lag) < 10.0
        requests = value(samples, "togul_evaluate_requests_total")
        assert requests is not None and requests >= 2 * 3  # each change, for each context
        for name in (
            "togul_reconnects_total",
            "togul_outages_total",
            "togul_malformed_events_total",
            "togul_duplicate_events_total",
            "togul_journal_dropped_total",
        ):
            assert value(samples, name) == 0.0, name
        assert value(samples, "togul_journal_recording") == 1.0
        assert value(samples, "togul_journal_pending") is not None
        for context in ("default", "premium"):
            assert value(samples, "togul_evaluate_errors_total", context=context) == 0.0

        # A malformed event, an outage, and one evaluate request that fails.
        emulator.faults.emit_malformed("not json")
        wait_for(lambda: value(scrape(port), "togul_malformed_events_total") == 1.0, "malformed")
        recorder.wait_record("malformed event", json.loads, profile="prod")
        emulator.faults.cut_streams()
        wait_for(lambda: value(scrape(port), "togul_outages_total") == 1.0, "the outage")
        recorder.wait_record("outage", json.loads, profile="prod")
        assert value(scrape(port), "togul_reconnects_total") == 1.0
        emulator.faults.fail_evaluate(1, status=400)
        world.update_flag("production", "dark-mode", enabled=False)

        def errors() -> float:
            samples = scrape(port)
            return sum(
                value(samples, "togul_evaluate_errors_total", context=c) or 0.0
                for c in ("default", "premium")
            )

        wait_for(lambda: errors() == 1.0, "the evaluate error")
        recorder.wait_record("evaluate failing", json.loads, profile="prod")
        code, _ = recorder.stop(signal.SIGINT)
    assert code == 0, recorder.lines
    assert key not in "\n".join(recorder.lines)
