"""Making server text and secrets safe to print.

Server text (flag keys, environment ids, raw payloads) is data: it goes to terminals, logs and
the TUI, where a stray ESC or CR could rewrite the screen or forge a line. `safe_text` replaces
every control character so what is printed is exactly what can be seen. `mask_secret` is the one
way a credential is ever shown.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls (tab and newline included: one event is one printed line), DEL, C1 controls, and the
# Unicode line/paragraph separators and bidi marks and overrides (ALM, LRM, RLM, embeddings,
# isolates), which can reorder or split what is shown. Also the invisible ones (zero-width space,
# word joiner and invisible operators, zero-width no-break space/BOM): `check\u200bout` would
# otherwise look exactly like `checkout`, and terminals disagree on their width. ZWJ and ZWNJ stay:
# emoji sequences and several scripts need them.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064"
    "\u2066-\u2069\ufeff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(s: object, *, escape: bool = True) -> str:
    """`s` as printable text: each control character becomes `\\xNN` (or U+FFFD with escape=False).

    Escapes keep the original recoverable for a reader (a NUL in a flag key shows as `\\x00`);
    U+FFFD suits narrow table cells. Non-str values are converted with str() first.
    """
    text = s if isinstance(s, str) else str(s)
    if not _UNSAFE.search(text):  # the common case: nothing to do, no copy
        return text
    if escape:
        return _UNSAFE.sub(_escape, text)
    return _UNSAFE.sub("\ufffd", text)


def safe_json(text: str) -> str:
    """JSON text (as `json.dumps` writes it) with every unsafe character inside its strings
    written as a `\\uXXXX` escape: the same JSON once parsed, and printable as it is.

    `json.dumps` escapes the C0 controls itself, so one left in `text` is its indentation's
    newline, kept; with `ensure_ascii=False` it leaves DEL, C1 (`\\x9b` starts an escape
    sequence on some terminals) and the bidi and invisible characters as they are."""
    return _UNSAFE.sub(_json_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    return char if char < " " else f"\\u{ord(char):04x}"


def cell_width(text: str) -> int:
    """How many terminal cells `text` takes: 2 for a wide or full-width character (CJK, most
    emoji), 0 for a combining mark or a format character (ZWJ), 1 otherwise. What a caret under
    a term must count (a character count puts it left of the term after wide characters); the
    TUI measures with Rich, which is not importable here."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


#: The prefixes a Togul secret keeps when masked: the API keys' scopes (`tgl_sdk_`, `tgl_srv_`,
#: `tgl_str_`) and the emulator's refresh tokens (`tgl_rt_`). support/logs.py finds secrets in
#: free text by the same prefixes, so a secret is masked alike in a log line and on screen.
KNOWN_PREFIX = r"tgl_(?:srv|sdk|str|rt)_"
_KNOWN_PREFIX = re.compile(f"^({KNOWN_PREFIX})")


def mask_secret(secret: str | None) -> str:
    """A credential as it may be shown: its known prefix, an ellipsis and its last 4 characters.

    `tgl_sdk_0123456789abcdef9f2c` → `tgl_sdk_…9f2c`. Short or unknown secrets reveal at most their
    last 4 characters, and only when at least 12 are hidden, so a short secret shows nothing.

    The one way a secret is ever shown: every caller passes the whole secret (never a cut or
    escaped copy), so the same secret reads the same wherever it appears. Surrounding blanks are
    not part of the secret (a pasted key often carries them) and do not shift the tail.
    """
    if not secret or not secret.strip():
        return "(none)"
    secret = secret.strip()
    match = _KNOWN_PREFIX.match(secret)
    prefix = match.group(1) if match else ""
    rest = secret[len(prefix) :]
    tail = rest[-4:] if len(rest) >= 16 else ""
    return safe_text(f"{prefix}…{tail}")


_CONTROL_NAMES = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab"}


def secret_problem(secret: str) -> str | None:
    """Why `secret` cannot be sent in an HTTP header, or None when it can.

    A control character (a newline pasted with the key, say) or a non-ASCII character makes
    every request fail before it leaves, which a client would otherwise retry for ever. The
    answer names the character and its position, never the secret itself.
    """
    for position, char in enumerate(secret, start=1):
        if char.isascii() and char.isprintable():
            continue
        if char in _CONTROL_NAMES:
            what = _CONTROL_NAMES[char]
        elif not char.isascii() and char.isprintable():
            what = f"a non-ASCII character (U+{ord(char):04X})"
        else:
            what = f"a control character (U+{ord(char):04X})"
        return f"contains {what} at character {position}: a secret is printable ASCII only"
    if secret != secret.strip(" "):
        return "starts or ends with a space: a secret has no surrounding blanks"
    return None


def credential_problem(credential: str) -> str | None:
    """`secret_problem`, and why `credential` (an API key, a token, a refresh token) cannot be
    one: no key or JWT holds a blank. A journal URL, also a secret, may (a path with a space)."""
    problem = secret_problem(credential)
    if problem:
        return problem
    if credential[:7].lower() == "bearer ":
        # The header's scheme pasted with the token: the monitor writes "Bearer " itself.
        return 'starts with "Bearer ": give the token alone, the monitor adds the scheme'
    if " " in credential:
        # Most likely two things pasted together.
        where = credential.index(" ") + 1
        return f"contains a space at character {where}: a key or a token has no blanks"
    return None
