"""Named contexts in profiles.toml: every layout reads the same, every mistake is a
configuration error naming the file, the line and the key, and edits keep the file's comments
and its layout (inline tables or sub-tables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from togul_monitor.config import paths
from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import ProfileChanges, ProfileStore, load_config, parse_document

HEAD = """\
[profiles.prod]
base_url = "https://api.togul.io"
environment_key = "production"
api_key_env = "PROD_KEY"
"""
BRIEF = {
    "premium": {"user_id": "u-1", "plan": "premium"},
    "free": {"user_id": "u-2", "plan": "free"},
    "eu": {"user_id": "u-3", "country": "DE"},
}


def write(text: str) -> Path:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_for(text: str) -> ConfigError:
    write(text)
    with pytest.raises(ConfigError) as info:
        load_config()
    return info.value


@pytest.mark.parametrize(
    "body",
    [
        """
[profiles.prod.contexts]
premium = { user_id = "u-1", plan = "premium" }
free    = { user_id = "u-2", plan = "free" }
eu      = { user_id = "u-3", country = "DE" }
""",
        """
[profiles.prod.contexts.premium]
user_id = "u-1"
plan = "premium"

[profiles.prod.contexts.free]
user_id = "u-2"
plan = "free"

[profiles.prod.contexts.eu]
user_id = "u-3"
country = "DE"
""",
        'contexts = { premium = { user_id = "u-1", plan = "premium" }, free = { user_id = "u-2",'
        ' plan = "free" }, eu = { user_id = "u-3", country = "DE" } }\n',
    ],
    ids=["table-of-inline-tables", "sub-tables", "one-inline-table"],
)
def test_every_layout_reads_the_same_contexts_in_the_file_order(body: str) -> None:
    write(HEAD + body)
    entry = load_config().profiles["prod"]
    assert entry.contexts == BRIEF and list(entry.contexts) == ["premium", "free", "eu"]
    profile = entry.resolve({"PROD_KEY": "k"})
    assert list(profile.evaluation_contexts) == ["premium", "free", "eu"]


def test_the_single_context_is_evaluated_first_as_default() -> None:
    write(HEAD + 'context = { user_id = "mon" }\n[profiles.prod.contexts]\nfree = { plan = "f" }\n')
    profile = load_config().profiles["prod"].resolve({"PROD_KEY": "k"})
    assert profile.evaluation_contexts == {"default": {"user_id": "mon"}, "free": {"plan": "f"}}


@pytest.mark.parametrize(
    ("body", "key", "line", "fragment"),
    [
        # A table of inline tables: the context's own line.
        ('[profiles.prod.contexts]\npremium = { plan = "p" }\nfree = { plan = 3 }\n',
         "contexts.free.plan", 7, "not an integer"),
        # A sub-table per context: the attribute's line.
        ('[profiles.prod.contexts.premium]\nuser_id = "u"\nplan = true\n',
         "contexts.premium.plan", 7, "not a boolean"),
        # One inline table on the profile: its line.
        ('watch = []\ncontexts = { premium = { plan = 1.5 } }\n',
         "contexts.premium.plan", 6, "not a number"),
        # Dotted keys.
        ('contexts.premium.plan = "p"\ncontexts.free.plan = 2\n',
         "contexts.free.plan", 6, "not an integer"),
        ('contexts = "premium"\n', "contexts", 5, "must be a table of contexts"),
        ('[profiles.prod.contexts]\npremium = "plan=premium"\n',
         "contexts.premium", 6, "must be a table of strings"),
        ('[profiles.prod.contexts]\nok = {}\n"bad name" = { plan = "p" }\n',
         "contexts.bad name", 7, "a context name is 1-32 letters"),
        ('[profiles.prod.contexts."-dash"]\nplan = "p"\n',
         "contexts.-dash", 5, "starting with a letter or digit"),
        ('[profiles.prod.contexts]\n' + "".join(f'c{i} = {{}}\n' for i in range(9)),
         "contexts", 5, "9 contexts: at most 8"),
        ('context = { user_id = "u" }\n[profiles.prod.contexts]\n'
         + "".join(f'c{i} = {{}}\n' for i in range(8)),
         "contexts", 6, "9 contexts (counting `context` as the one named 'default'): at most 8"),
        ('context = { user_id = "u" }\n\n[profiles.prod.contexts]\nfree = {}\ndefault = {}\n',
         "contexts.default", 9, "'default' is the name of the single `context` table"),
    ],
)  # fmt: skip
def test_context_errors_name_file_line_and_key(
    body: str, key: str, line: int, fragment: str
) -> None:
    exc = error_for(HEAD + body)
    assert (exc.profile, exc.key, exc.line) == ("prod", key, line), str(exc)
    assert fragment in exc.message
    assert f"{paths.profiles_file()}:{line}: profile 'prod', key '{key}'" in str(exc)
    assert exc.exit_code == 2


def test_a_named_default_is_fine_without_a_single_context() -> None:
    write(HEAD + "[profiles.prod.contexts]\n" + "".join(f"c{i} = {{}}\n" for i in range(7)))
    assert len(load_config().profiles["prod"].contexts) == 7
    write(HEAD + '[profiles.prod.contexts.default]\nplan = "p"\n')
    assert load_config().profiles["prod"].contexts == {"default": {"plan": "p"}}


def test_an_error_never_quotes_an_attribute_value_or_a_secret() -> None:
    secret = "tgl_sdk_s3cr3tvalue0123456789abcd9f2c"
    exc = error_for(
        HEAD.replace('api_key_env = "PROD_KEY"', f'api_key = "{secret}"')
        + f'context = {{ user_id = "{secret}" }}\n[profiles.prod.contexts]\n'
        f'default = {{ token = "{secret}" }}\n'
    )
    assert exc.key == "contexts.default" and secret not in str(exc)


def test_the_parser_hints_name_the_deepest_profile_key() -> None:
    with pytest.raises(ConfigError) as info:
        parse_document(HEAD + ".".join(["x"] * 300) + " = 1\n", Path("/nowhere/profiles.toml"))
    assert "profiles.NAME.contexts.CONTEXT.KEY" in str(info.value)
    with pytest.raises(ConfigError) as info:
        parse_document(HEAD + "contexts = " + "[" * 70 + "]" * 70 + "\n", Path("/p.toml"))
    assert "`contexts = { NAME = { ... } }`" in str(info.value)
    # The deepest legal nesting reads well within the limits.
    parse_document(HEAD + 'contexts.premium.plan = "p"\n', Path("/p.toml"))


# --- editing ----------------------------------------------------------------------------------

COMMENTED = (
    HEAD.replace('environment_key = "production"', 'environment_key = "production"  # live')
    + """\

# who we evaluate for
[profiles.prod.contexts]
premium = { user_id = "u-1", plan = "premium" }  # a paying user
free = { user_id = "u-2", plan = "free" }

# the next one
[profiles.staging]
base_url = "https://api.togul.io"
environment_key = "staging"
token_env = "T"
"""
)


def test_setting_and_removing_contexts_keeps_comments_and_inline_tables() -> None:
    path = write(COMMENTED)
    store = ProfileStore()
    store.edit("prod", ProfileChanges(set_contexts={"premium": {"plan": "enterprise"}}))
    store.edit("prod", ProfileChanges(set_contexts={"eu": {"country": "DE"}}))
    store.edit("prod", ProfileChanges(remove_contexts=("free",)))
    text = path.read_text()
    assert 'premium = {plan = "enterprise"}  # a paying user\n' in text
    assert 'eu = {country = "DE"}\n' in text and "free" not in text
    assert "# who we evaluate for\n[profiles.prod.contexts]\n" in text
    assert "# the next one\n[profiles.staging]" in text
    assert 'environment_key = "production"  # live' in text
    assert load_config().profiles["prod"].contexts == {
        "premium": {"plan": "enterprise"},
        "eu": {"country": "DE"},
    }
    assert (path.stat().st_mode & 0o777) == 0o600


def test_sub_table_contexts_stay_sub_tables_and_take_their_comment_when_removed() -> None:
    path = write(
        HEAD
        + '\n# paying\n[profiles.prod.contexts.premium]\nplan = "premium"  # p\nuser_id = "u"\n'
        '\n# next\n[profiles.staging]\nbase_url = "https://a.example"\nenvironment_key = "s"\n'
        'token_env = "T"\n'
    )
    store = ProfileStore()
    store.edit("prod", ProfileChanges(set_contexts={"free": {"plan": "free"}}))
    store.edit("prod", ProfileChanges(set_contexts={"premium": {"plan": "premium"}}))
    text = path.read_text()
    assert '[profiles.prod.contexts.premium]\nplan = "premium"  # p\n' in text
    assert "user_id" not in text  # replaced whole: the attribute not given is gone
    assert '[profiles.prod.contexts.free]\nplan = "free"\n\n# next\n[profiles.staging]' in text
    store.edit("prod", ProfileChanges(remove_contexts=("premium",)))
    text = path.read_text()
    assert "# paying" not in text and "premium" not in text
    assert "# next\n[profiles.staging]" in text
    assert load_config().profiles["prod"].contexts == {"free": {"plan": "free"}}


def test_a_profile_without_contexts_gets_a_contexts_table() -> None:
    path = write(HEAD + 'watch = ["a"]\n')
    ProfileStore().edit("prod", ProfileChanges(set_contexts=BRIEF))
    text = path.read_text()
    assert text.startswith(HEAD + 'watch = ["a"]\n\n[profiles.prod.contexts]\n')
    assert 'premium = {user_id = "u-1", plan = "premium"}\n' in text
    assert load_config().profiles["prod"].contexts == BRIEF
    ProfileStore().edit("prod", ProfileChanges(remove_contexts=tuple(BRIEF)))
    assert path.read_text() == HEAD + 'watch = ["a"]\n'  # back as it was, no stray lines


def test_one_inline_contexts_table_stays_one_line() -> None:
    path = write(HEAD + 'contexts = { a = { plan = "p" } }  # all of them\n')
    ProfileStore().edit(
        "prod", ProfileChanges(set_contexts={"b": {"plan": "q"}}, remove_contexts=("a",))
    )
    assert path.read_text() == HEAD + 'contexts = {b = {plan = "q"}}  # all of them\n'


def test_add_writes_named_contexts_in_their_own_table() -> None:
    store = ProfileStore()
    store.add(ProfileEntry("p", "https://a.example", "s", token_env="T", contexts=BRIEF))
    text = store.path.read_text()
    assert text.endswith(
        "\n[profiles.p.contexts]\n" + 'premium = {user_id = "u-1", plan = "premium"}\n'
        'free = {user_id = "u-2", plan = "free"}\neu = {user_id = "u-3", country = "DE"}\n'
    )
    assert load_config().profiles["p"].contexts == BRIEF


def test_bad_edits_are_refused_and_nothing_is_written() -> None:
    path = write(COMMENTED)
    store = ProfileStore()
    with pytest.raises(ConfigError) as info:
        store.edit("prod", ProfileChanges(remove_contexts=("fre",)))
    assert "no context named 'fre' (did you mean 'free'?)" in str(info.value)
    with pytest.raises(ConfigError) as info:
        store.edit("prod", ProfileChanges(set_contexts={f"c{i}": {} for i in range(7)}))
    assert info.value.key == "contexts" and "9 contexts: at most 8" in info.value.message
    with pytest.raises(ConfigError) as info:
        store.edit("prod", ProfileChanges(context={"u": "1"}, set_contexts={"default": {}}))
    assert info.value.key == "contexts.default"
    assert path.read_text() == COMMENTED
    broken = COMMENTED.replace('free = { user_id = "u-2", plan = "free" }', "free = { plan = 1 }")
    write(broken)
    with pytest.raises(ConfigError) as info:
        store.edit("prod", ProfileChanges(set_contexts={"eu": {"country": "DE"}}))
    assert info.value.key == "contexts.free.plan" and info.value.line == 9
    assert "nothing was written" in str(info.value)
    assert path.read_text() == broken


def test_a_key_added_to_the_profile_goes_above_the_comment_of_its_contexts_table() -> None:
    """tomlkit takes `# who we evaluate for` for the end of the table above it: a key added
    there (the form always writes allow_insecure) used to land between comment and header."""
    path = write(COMMENTED)
    ProfileStore().edit("prod", ProfileChanges(allow_insecure=True, heartbeat_seconds=5.0))
    text = path.read_text()
    assert "heartbeat_seconds = 5.0\nallow_insecure = true\n\n# who we evaluate for\n" in text
    assert "# who we evaluate for\n[profiles.prod.contexts]\n" in text
