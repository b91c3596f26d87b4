"""The secrets this run holds, and text scrubbed of them by value.

A server (or a proxy in front of it) may quote the credential it was sent in its error body
(`key tgl_sdk_… rejected`), and an exception's text may hold it too. Such text is shown by
`tail`, the TUI and the log, so every secret the run holds is replaced by its masked form
(support/text.py `mask_secret`) wherever server text or an exception's text is turned into
words: the log filter (support/logs.py), the stream's errors in plain words
(support/plain_errors.py) and the client's readers of error bodies (client/http.py). By value,
not by shape: a key is any string a state file or a server chose, not always `tgl_…`.

A secret is remembered the moment the run holds it: a resolved profile's credentials
(config/entry.py `Profile`), and a token pair a login or a renewal brings (client/tokens.py
`TokenPair`). Nothing is ever forgotten: a rotated-away token is still a secret.
"""

from __future__ import annotations

import threading

from togul_monitor.support.text import mask_secret, safe_text

# Shorter values are not looked for: masking every `abc` in every message would garble them, and
# so short a secret protects nothing anyway.
MIN_LENGTH = 8

_lock = threading.Lock()
# (secret, its mask), longest first so a secret holding another is masked whole. Replaced, never
# changed in place: readers on any thread take the tuple without the lock.
_known: tuple[tuple[str, str], ...] = ()


def remember_secret(*secrets: str | None) -> None:
    """Scrub each of `secrets` (None or short ones are skipped) from shown text from now on."""
    global _known
    fresh = [s.strip() for s in secrets if s and len(s.strip()) >= MIN_LENGTH]
    if not fresh:
        return
    with _lock:
        have = {secret for secret, _ in _known}
        new = [s for s in fresh if s not in have]
        if not new:
            return
        pairs = [*_known]
        for secret in dict.fromkeys(new):
            pairs.append((secret, mask_secret(secret)))
            escaped = safe_text(secret)  # as text already made safe would hold it
            if escaped != secret:
                pairs.append((escaped, mask_secret(secret)))
        _known = tuple(sorted(pairs, key=lambda pair: len(pair[0]), reverse=True))


def scrub(text: str) -> str:
    """`text` with every secret the run holds replaced by its masked form."""
    for secret, masked in _known:
        if secret in text:
            text = text.replace(secret, masked)
    return text


def forget_all() -> None:
    """For tests: the run holds no secret."""
    global _known
    with _lock:
        _known = ()
