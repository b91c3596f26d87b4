"""Whether an HTTP client made for one base URL checks certificates.

An `http://` server never presents a certificate, so its client is made with `verify=False`:
httpx then loads no CA bundle, which is the dearest part of making a client (tens of
milliseconds of `ssl.create_default_context` and certifi's file, for every client). An
`https://` URL keeps the caller's `verify`. None of these clients follows redirects (httpx's
default), so an `http://` client never reaches an `https://` server. The stream client, which
does follow them, chooses per request in `client/stream.py`.
"""

from __future__ import annotations


def verify_for(base_url: str, verify: bool = True) -> bool:
    """`verify` for an `https://` (or any other) base URL; False for a plain `http://` one."""
    return False if base_url.lstrip()[:7].lower() == "http://" else verify
