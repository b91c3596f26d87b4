"""Plain http:// to a loopback host never goes through a proxy from the environment
(client/tls.py): the key would travel in clear to wherever the proxy is. https:// targets,
and plain http:// a profile allowed to another host, keep honouring the proxy variables."""

from __future__ import annotations

import pytest

from togul_monitor.client.tls import trust_env_for


@pytest.mark.parametrize(
    ("url", "trust"),
    [
        ("http://127.0.0.1:18555", False),
        ("http://localhost:8080/", False),
        ("HTTP://[::1]:8080", False),
        ("http://127.8.9.10", False),
        ("https://127.0.0.1:18555", True),  # TLS: a proxy sees no key
        ("https://api.togul.io", True),
        ("http://flags.internal:8080", True),  # only reachable with allow_insecure = true
        ("http://[broken", True),  # not a URL any client can send to
    ],
)
def test_only_plain_http_to_loopback_ignores_the_proxy_variables(url: str, trust: bool) -> None:
    assert trust_env_for(url) is trust
