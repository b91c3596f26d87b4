"""The filter language (README.md, Filters): unit cases and a property test over any input."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from togul_monitor.domain.events import FlagEvent
from togul_monitor.domain.filters import FilterError, parse_filter

PROD_ID = "3f2a9c1e-0000-4000-8000-000000000001"
STAGING_ID = "7b11d0aa-0000-4000-8000-000000000002"
NAMES = {PROD_ID: "production", STAGING_ID: "staging"}


def event(type_: str = "flag.updated", key: str = "checkout-v2", env: str = PROD_ID) -> FlagEvent:
    return FlagEvent(type_, key, env, 3, 1_700_000_000.0, "42", 1_700_000_001.0)


def keys_matching(query: str, events: list[FlagEvent]) -> list[str]:
    flt = parse_filter(query)
    return [e.flag_key for e in events if flt.matches(e, NAMES)]


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_filter_matches_everything(text: str) -> None:
    flt = parse_filter(text)
    assert flt.empty
    assert flt.text == text
    assert flt.matches(event())
    assert flt.matches(event(type_="something.else", key="", env=""))


@pytest.mark.parametrize(
    ("query", "type_", "expected"),
    [
        ("type:flag.updated", "flag.updated", True),
        ("type:flag.updated", "flag.created", False),
        ("type:flag", "flag.deleted", True),  # prefix
        ("type:flag", "rule.updated", False),
        ("type:rule.*", "rule.deleted", True),  # glob
        ("type:rule.*", "flag.updated", False),
        ("type:*.deleted", "rule.deleted", True),
        ("TYPE:Flag.Updated", "flag.updated", True),  # field names and values ignore case
    ],
)
def test_type_terms(query: str, type_: str, expected: bool) -> None:
    assert parse_filter(query).matches(event(type_=type_)) is expected


@pytest.mark.parametrize(
    "query",
    [
        "type:flag",
        "type:rule",
        "type:fl",
        "type:flag.",
        "type:rule.upd",
        "type:*.deleted",
        "type:rule.*",
        "type:[fr]*.created",
        "TYPE:FLAG.UPDATED",
        "type:flag.updated",
    ],
)
def test_known_types_their_prefixes_and_matching_globs_are_accepted(query: str) -> None:
    assert parse_filter(query).terms[0].kind == "type"


def test_flag_glob_exact_and_case() -> None:
    events = [event(key=k) for k in ("checkout-v2", "checkout", "new-checkout", "Checkout-V3")]
    assert keys_matching("flag:checkout-*", events) == ["checkout-v2", "Checkout-V3"]
    assert keys_matching("flag:checkout", events) == ["checkout"]  # no glob: the exact key
    assert keys_matching("flag:*checkout", events) == ["checkout", "new-checkout"]
    assert keys_matching("flag:checkout-v?", events) == ["checkout-v2", "Checkout-V3"]


def test_bare_word_is_case_insensitive_substring_of_the_key() -> None:
    events = [event(key=k) for k in ("new-dashboard", "Dashboard-beta", "checkout")]
    assert keys_matching("DASH", events) == ["new-dashboard", "Dashboard-beta"]
    assert keys_matching("dash beta", events) == ["Dashboard-beta"]  # all terms must hold


def test_env_by_key_or_id_prefix() -> None:
    prod, staging = event(env=PROD_ID), event(env=STAGING_ID)
    flt = parse_filter("env:production")
    assert flt.matches(prod, NAMES) and not flt.matches(staging, NAMES)
    assert not flt.matches(prod)  # without the id -> key map, only id prefixes can match
    by_id = parse_filter("env:7b11")
    assert by_id.matches(staging) and not by_id.matches(prod)
    assert parse_filter("env:7B11D0").matches(staging)


def test_env_by_key_prefix() -> None:
    """`env:prod` is production (a prefix of the key), as `env:7b11` is a prefix of the id."""
    prod, staging = event(env=PROD_ID), event(env=STAGING_ID)
    for query in ("env:prod", "env:PROD", "env:p", "env:production"):
        flt = parse_filter(query)
        assert flt.matches(prod, NAMES) and not flt.matches(staging, NAMES), query
    stage = parse_filter("env:stag")
    assert stage.matches(staging, NAMES) and not stage.matches(prod, NAMES)
    assert not parse_filter("env:productions").matches(prod, NAMES)  # longer than the key
    assert not parse_filter("-env:prod").matches(prod, NAMES)
    assert parse_filter("-env:prod").matches(staging, NAMES)


def test_env_by_key_with_a_names_map_that_is_learnt_later() -> None:
    """The TUI shares one id → key dict that fills in as the monitor learns names: a filter
    parsed before a name was known matches once it is."""
    names: dict[str, str] = {}
    flt = parse_filter("env:staging")
    staging = event(env=STAGING_ID)
    assert not flt.matches(staging, names)
    names[STAGING_ID] = "staging"
    assert flt.matches(staging, names)


def test_regex_on_key() -> None:
    events = [event(key=k) for k in ("checkout-v2", "checkout-v10", "checkout", "a/b key")]
    assert keys_matching(r"/^checkout-v\d+$/", events) == ["checkout-v2", "checkout-v10"]
    assert keys_matching(r"/v1\d/", events) == ["checkout-v10"]
    assert keys_matching("/CHECKOUT/", events) == []  # regexes are case-sensitive ...
    assert keys_matching("/(?i)CHECKOUT$/", events) == ["checkout"]  # ... unless asked
    assert keys_matching(r"/a\/b key/", events) == ["a/b key"]  # spaces and \/ inside


def test_exclusion_with_bang_and_dash() -> None:
    events = [event(type_=t, key=k) for t, k in (("flag.updated", "a-beta"), ("rule.created", "b"))]
    assert keys_matching("!type:rule", events) == ["a-beta"]
    assert keys_matching("-beta", events) == ["b"]
    assert keys_matching("-/^a/", events) == ["b"]
    assert keys_matching('!"beta"', events) == ["b"]


def test_quotes_group_words_and_disable_syntax() -> None:
    events = [event(key=k) for k in ("two words", "two", "x-v2", "v2", 'say"hi', "type:x")]
    assert keys_matching('"two words"', events) == ["two words"]
    assert keys_matching('"-v2"', events) == ["x-v2"]  # not an exclusion
    assert keys_matching('"type:x"', events) == ["type:x"]  # not a field
    assert keys_matching(r'"say\"hi"', events) == ['say"hi']
    assert keys_matching('flag:"two w*"', events) == ["two words"]


def test_combined_terms_all_must_hold() -> None:
    flt = parse_filter("type:flag flag:checkout-* env:production -beta")
    assert flt.matches(event(), NAMES)
    assert not flt.matches(event(type_="rule.updated"), NAMES)
    assert not flt.matches(event(key="checkout-beta"), NAMES)
    assert not flt.matches(event(env=STAGING_ID), NAMES)
    assert [t.kind for t in flt.terms] == ["type", "flag", "env", "word"]
    assert flt.terms[3].negated


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        ("tpye:flag", 0, "did you mean type:"),
        ("type:flag envv:prod", 10, "did you mean env:"),
        ('ok "unclosed', 3, "unterminated quote"),
        ("a /unclosed", 2, "unterminated /regex/"),
        ("a /(/", 3, "invalid regex: missing )"),  # the caret under the part at fault
        ("a //", 2, "empty /regex/"),
        ("a - b", 2, "must be followed"),
        ("a !", 2, "must be followed"),
        ("flag:", 0, "needs a value"),
        ('a ""', 2, "empty term"),
        ("type:flag.udpated", 0, "did you mean type:flag.updated?"),
        ("a type:bogus", 2, "unknown event type 'bogus': types are flag.* and rule.*"),
        ("type:flg", 0, "did you mean type:flag?"),
        ("type:rules", 0, "did you mean type:rule?"),
        ("!type:rule.creatd", 1, "did you mean type:rule.created?"),
        ("type:x*", 0, "type:x* matches no event type"),
    ],
)
def test_errors_name_the_position(query: str, position: int, fragment: str) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(query)
    assert info.value.position == position
    assert fragment in info.value.message


# Patterns that backtrack for seconds (or forever) in Python's re on a key the server chose.
_CATASTROPHIC = [
    (r"/(a|a)*b/", "a" * 26),
    (r"/.*-.*-.*-v2/", "-" * 400),
    (r"/(\w+)+-v2/", "k" * 500),
    (r"x /(a*)*b/", "a" * 400),
    (r"/(?:k|k+)+x/", "k" * 400),
    (r"/^(([a-z])+.)+[A-Z]([a-z])+$/", "a" * 400),
]


@pytest.mark.parametrize(("query", "key"), _CATASTROPHIC)
def test_a_regex_runs_in_linear_time_on_a_hostile_key(query: str, key: str) -> None:
    flt = parse_filter(query)
    started = time.perf_counter()
    for _ in range(100):
        flt.matches(event(key=key), NAMES)
    # Python's re: 10 s for `(a|a)*b` on 26 characters, 14 s for `.*-.*-.*-v2` on 400 dashes.
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        (r"/(a)\1/", 4, "a backreference \\1"),
        (r"x /(?=a)b/", 3, "lookahead (?=...)"),
        (r"!/(?<!a)b/", 2, "negative lookbehind"),
        (r"-/x(?!a)/", 3, "exclude with a -/regex/ term"),
        (r"/(?P<n>x)(?P=n)/", 9, "a backreference (?P=name)"),
        (r"/(?>ab)c/", 1, "atomic group"),
        (r"/a++/", 2, "possessive repeat ++"),
        (r"/key\Z/", 4, "write \\z"),
        (r"/a{1001}/", 2, "invalid regex: invalid repetition size"),
        (r"/.{0,999}x/", 2, "regex too large to run on every event"),  # 1 ms a key
    ],
)
def test_what_needs_backtracking_is_refused_with_the_position_of_the_construct(
    query: str, position: int, fragment: str
) -> None:
    with pytest.raises(FilterError) as info:
        parse_filter(query)
    assert info.value.position == position, info.value
    assert fragment in info.value.message
    if "invalid regex" not in fragment and "too large" not in fragment:
        assert "not supported in a filter (RE2 syntax, which runs in linear time)" in str(
            info.value
        )


def test_keys_that_are_not_valid_text_never_break_a_regex() -> None:
    flt = parse_filter(r"/^a.b$/")
    assert flt.matches(event(key="a\ud800b"), NAMES)  # a lone surrogate from JSON: one character
    assert flt.matches(event(key="aéb"), NAMES)
    with pytest.raises(FilterError):
        parse_filter("/\ud800/")


def test_ordinary_regexes_stay_allowed_and_fast_on_long_keys() -> None:
    flt = parse_filter(r"/^(v\d)+$|checkout-.*|a+b+/")
    assert not flt.matches(event(key="k" * 500), NAMES)
    assert flt.matches(event(key="checkout-v2"), NAMES)


def test_non_string_is_a_filter_error() -> None:
    with pytest.raises(FilterError):
        parse_filter(None)  # type: ignore[arg-type]


_ALPHABET = st.sampled_from(
    list('abcxyz-_.*?[]!/"\\: \t') + ["type:", "flag:", "env:", "rule", "(", ")", "+", "{2}", "é"]
)
_EVENTS = [
    event(),
    event(type_="rule.deleted", key="", env=""),
    event(type_="odd", key='a/b "c" [x]', env=STAGING_ID),
]


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.lists(_ALPHABET, max_size=12).map("".join)))
def test_any_text_gives_a_filter_or_a_positioned_error(text: str) -> None:
    try:
        flt = parse_filter(text)
    except FilterError as exc:
        assert 0 <= exc.position < max(len(text), 1)
        assert exc.message
        return
    assert flt.text == text
    for e in _EVENTS:  # a parsed filter never raises while matching either
        assert isinstance(flt.matches(e, NAMES), bool)
        assert isinstance(flt.matches(e), bool)


_REGEX_PIECES = st.sampled_from(
    ["a", "-", ".", "*", "+", "?", "|", "(", ")", "(?:", "[a-]", "\\d", "\\w", "{2,}", "^", "$"]
    + ["(?=", "(?<!", "\\1", "(?i)", "v2", "é", "\\/"]
)
_HOSTILE_KEYS = ["-" * 400, "a" * 400, "a-" * 200, "x" * 399 + "\ud800", "checkout-v2", ""]


@settings(derandomize=True, max_examples=150, deadline=None)
@given(st.lists(_REGEX_PIECES, min_size=1, max_size=14).map("".join), st.booleans())
def test_any_regex_term_is_refused_with_a_position_or_matches_fast(
    body: str, negated: bool
) -> None:
    text = ("-" if negated else "") + "/" + body + "/"
    try:
        flt = parse_filter(text)
    except FilterError as exc:
        assert 0 <= exc.position < len(text)
        return
    started = time.perf_counter()
    for key in _HOSTILE_KEYS:
        assert isinstance(flt.matches(event(key=key), NAMES), bool)
    assert time.perf_counter() - started < 0.25, text  # linear: well under a millisecond
