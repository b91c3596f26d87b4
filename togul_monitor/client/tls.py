"""How an HTTP client made for one base URL reaches it: certificates and proxies.

An `http://` server never presents a certificate, so its client is made with `verify=False`:
httpx then loads no CA bundle, which is the dearest part of making a client (tens of
milliseconds of `ssl.create_default_context` and certifi's file, for every client). An
`https://` URL keeps the caller's `verify`. None of these clients follows redirects (httpx's
default), so an `http://` client never reaches an `https://` server. The stream client, which
does follow them, chooses per request in `client/stream.py`.

Proxies: httpx honours `HTTP_PROXY`, `ALL_PROXY` and the like (`trust_env`). Plain `http://`
is allowed to loopback hosts only (config/validate.py `check_url`) because the request, key
included, then never leaves the machine; a proxy would carry it, in clear, to wherever the
proxy is, and a remote proxy could not reach this machine's loopback anyway. So a plain-HTTP
loopback target is always reached directly, whatever the environment says (as Go's
net/http does for localhost); `https://` targets, and plain `http://` to other hosts that a
profile allowed with `allow_insecure = true`, keep honouring the proxy variables.

Certificates: httpx verifies an `https://` server against certifi's bundle, or, where
`SSL_CERT_FILE` (else `SSL_CERT_DIR`) is set, against that file (or folder) instead. A file it
cannot load makes every client raise as it is made (`FileNotFoundError`, `ssl.SSLError`: no
HTTP error); a folder that is not there trusts nothing. `ca_problem` says either before
anything connects (a file is loaded once per path and modification time: tens of ms).
"""

from __future__ import annotations

import os
import ssl
from urllib.parse import urlsplit

from togul_monitor.config.validate import is_loopback


def verify_for(base_url: str, verify: bool = True) -> bool:
    """`verify` for an `https://` (or any other) base URL; False for a plain `http://` one."""
    return False if base_url.lstrip()[:7].lower() == "http://" else verify


def trust_env_for(base_url: str) -> bool:
    """httpx's `trust_env` for `base_url`: False (no proxy from the environment) for plain
    `http://` to a loopback host, True otherwise."""
    try:
        parts = urlsplit(base_url.strip())
        host = parts.hostname or ""
    except ValueError:
        return True  # not a URL httpx can send to either: nothing to decide
    return not (parts.scheme.lower() == "http" and is_loopback(host))


def ca_problem(base_url: str) -> str | None:
    """Why `SSL_CERT_FILE` or `SSL_CERT_DIR` cannot be used for an `https://` `base_url`, in
    words; None when it can, or is not set, or the URL is not `https://`."""
    if base_url.lstrip()[:8].lower() != "https://":
        return None
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cafile:  # httpx's order: the file first
        try:
            stamp = os.stat(cafile).st_mtime_ns
        except OSError as exc:
            return _unusable(cafile, exc.strerror or str(exc))
        if (cafile, stamp) not in _LOADED:
            try:
                ssl.create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError, ValueError) as exc:
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                return _unusable(cafile, why)
            _LOADED.add((cafile, stamp))
    elif capath and not os.path.isdir(capath):
        return f"SSL_CERT_DIR names {capath!r}, which is not a folder"
    return None


_LOADED: set[tuple[str, int]] = set()  # CA files loaded without an error: (path, mtime)


def _unusable(cafile: str, why: str) -> str:
    return f"SSL_CERT_FILE names {cafile!r}, which is no CA file this can read: {why}"
