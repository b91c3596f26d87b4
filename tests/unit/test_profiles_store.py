"""The profile store: comments and order survive edits, 0600, refusing broken files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from togul_monitor.config import paths
from togul_monitor.config.entry import ProfileEntry
from togul_monitor.config.errors import ConfigError
from togul_monitor.config.profiles import ProfileChanges, ProfileStore, load_config, load_keymap

SECRET = "tgl_sdk_s3cr3tvalue0123456789abcd9f2c"

ORIGINAL = """\
# togul-monitor profiles
default_profile = "prod"  # the one I use most

# Production: careful
[profiles.prod]
base_url = "https://api.togul.io"  # the hosted API
environment_key = "production"
api_key_env = "TOGUL_PROD_SDK_KEY"
context = { user_id = "monitor", plan = "premium" }
watch = ["new-dashboard"]

# Staging: anything goes
[profiles.staging]
environment_key = "staging"
base_url = "https://staging.togul.io"
token_env = "TOGUL_TOKEN"

# my key bindings
[keymap]
filter = "ctrl+f"
"""


@pytest.fixture
def store(isolated_home: Path) -> ProfileStore:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ORIGINAL)
    path.chmod(0o644)  # a hand-written file: the first write must tighten it
    return ProfileStore()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_paths_follow_togul_monitor_home(isolated_home: Path) -> None:
    assert paths.profiles_file() == isolated_home / "profiles.toml"
    assert paths.journal_dir() == isolated_home / "journal"
    assert paths.log_file() == isolated_home / "togul-monitor.log"


def test_add_edit_remove_round_trip_keeps_comments_and_order(store: ProfileStore) -> None:
    store.add(ProfileEntry("local", "http://127.0.0.1:8080", "production", api_key_env="LOCAL_KEY"))
    assert mode(store.path) == 0o600
    text = store.path.read_text()
    assert text.startswith(ORIGINAL.split("# my key bindings")[0])  # everything before untouched
    assert text.index("[profiles.local]") < text.index("# my key bindings")  # after the profiles
    assert text.endswith('# my key bindings\n[keymap]\nfilter = "ctrl+f"\n')

    store.edit("prod", ProfileChanges(base_url="https://eu.togul.io", watch=("checkout-v2",)))
    assert mode(store.path) == 0o600
    text = store.path.read_text()
    assert 'base_url = "https://eu.togul.io"  # the hosted API' in text  # in place, comment kept
    assert 'watch = ["new-dashboard", "checkout-v2"]' in text
    lines = text.splitlines()
    prod = lines.index("[profiles.prod]")
    assert lines[prod - 1] == "# Production: careful"
    assert [ln.split(" =")[0] for ln in lines[prod + 1 : prod + 6]] == [
        "base_url",
        "environment_key",
        "api_key_env",
        "context",
        "watch",
    ]

    store.remove("local")
    store.edit("prod", ProfileChanges(base_url="https://api.togul.io", unwatch=("checkout-v2",)))
    assert store.path.read_text() == ORIGINAL  # back to the user's file, byte for byte
    assert mode(store.path) == 0o600


def test_remove_takes_the_profiles_own_comment_and_keeps_the_next_ones(
    store: ProfileStore,
) -> None:
    store.remove("prod")
    text = store.path.read_text()
    assert "Production: careful" not in text
    assert "# Staging: anything goes\n[profiles.staging]" in text
    assert "default_profile" not in text  # it named the removed profile
    assert text.startswith("# togul-monitor profiles\n")
    assert load_config().default_profile is None
    assert mode(store.path) == 0o600


def test_set_default_and_switching_credential_form(store: ProfileStore) -> None:
    store.set_default("staging")
    assert 'default_profile = "staging"' in store.path.read_text()
    store.edit("staging", ProfileChanges(token="eyJhbGciOi.secret.jwt-value-0000"))
    table = load_config().profiles["staging"]
    assert table.token == "eyJhbGciOi.secret.jwt-value-0000" and table.token_env is None
    store.set_default("demo-staging")  # built-in names may be the default
    assert load_config().default_profile == "demo-staging"
    assert mode(store.path) == 0o600


def test_first_add_creates_the_file_0600(isolated_home: Path) -> None:
    store = ProfileStore()
    assert not store.path.exists()
    config = store.add(
        ProfileEntry("prod", "https://api.togul.io", "production", api_key=SECRET),
        make_default=True,
    )
    assert config.default_profile == "prod"
    assert mode(store.path) == 0o600
    assert load_config().profiles["prod"].api_key == SECRET


def test_a_symlinked_file_is_edited_where_it_lives_and_the_link_stays(
    isolated_home: Path, tmp_path: Path
) -> None:
    # A profiles.toml kept in a dotfiles repository and linked into place.
    real = tmp_path / "dotfiles" / "profiles.toml"
    real.parent.mkdir()
    real.write_text(ORIGINAL)
    link = paths.profiles_file()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(real)
    ProfileStore().set_default("staging")
    assert link.is_symlink() and link.resolve() == real
    assert 'default_profile = "staging"' in real.read_text()
    assert load_config().default_profile == "staging"


def test_inline_table_layout_falls_back_to_whole_document_edit(isolated_home: Path) -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True)
    path.write_text(
        "# inline style\n[profiles]\n"
        'a = { base_url = "https://a.example", environment_key = "p", token_env = "T" }\n'
    )
    store = ProfileStore()
    store.edit("a", ProfileChanges(environment_key="staging"))
    store.add(ProfileEntry("b", "https://b.example", "p", token_env="T"))
    config = load_config()
    assert config.profiles["a"].environment_key == "staging"
    assert set(config.profiles) == {"a", "b"}
    assert path.read_text().startswith("# inline style\n")


@pytest.mark.parametrize(
    ("action", "args"),
    [
        ("add", (ProfileEntry("x", "https://x.example", "p", token_env="T"),)),
        ("edit", ("prod", ProfileChanges(environment_key="staging"))),
        ("remove", ("prod",)),
        ("set_default", ("staging",)),
    ],
)
def test_a_file_with_a_syntax_error_is_never_written(
    isolated_home: Path, action: str, args: tuple[object, ...]
) -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True)
    broken = ORIGINAL.replace('environment_key = "staging"', 'environment_key = "staging')
    path.write_bytes(broken.encode())
    before = path.stat()
    with pytest.raises(ConfigError) as info:
        getattr(ProfileStore(), action)(*args)
    message = str(info.value)
    assert f"{path}:14:" in message  # file and line
    assert "TOML syntax error" in message
    assert "nothing was written" in message  # how to recover
    assert info.value.exit_code == 2
    assert path.read_bytes() == broken.encode()
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_add_refuses_an_existing_name_and_reserved_names(store: ProfileStore) -> None:
    with pytest.raises(ConfigError, match="exists already"):
        store.add(ProfileEntry("prod", "https://x.example", "p", token_env="T"))
    with pytest.raises(ConfigError, match="built-in"):
        store.add(ProfileEntry("demo-staging", "https://x.example", "p", token_env="T"))
    with pytest.raises(ConfigError, match="did you mean 'staging'"):
        store.remove("stagign")
    assert store.path.read_text() == ORIGINAL


def test_edit_that_would_make_the_profile_invalid_is_refused(store: ProfileStore) -> None:
    with pytest.raises(ConfigError, match="plain http:// to 'example.com' is refused"):
        store.edit("prod", ProfileChanges(base_url="http://example.com"))
    assert store.path.read_text() == ORIGINAL


def test_keymap_is_loaded_and_validated(store: ProfileStore) -> None:
    assert load_keymap() == {"filter": "ctrl+f"}
    store.path.write_text(ORIGINAL.replace('filter = "ctrl+f"', "filter = 3"))
    with pytest.raises(ConfigError) as info:
        load_keymap()
    assert "keymap.filter" in str(info.value)
    assert f"{store.path}:20:" in str(info.value)


def test_no_file_is_an_empty_config(isolated_home: Path) -> None:
    config = load_config()
    assert not config.exists and config.profiles == {} and config.default_profile is None
    assert load_keymap() == {}
    assert not paths.profiles_file().exists()  # reading never creates it


def test_lock_file_is_a_sidecar(store: ProfileStore) -> None:
    store.set_default("staging")
    assert (store.path.parent / "profiles.toml.lock").exists()
    assert not [p for p in os.listdir(store.path.parent) if p.endswith(".tmp")]  # no leftovers


def test_crlf_file_and_context_sub_table(isolated_home: Path) -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True)
    text = (
        '[profiles.a]\r\nbase_url = "https://a.example"\r\nenvironment_key = "p"\r\n'
        'token_env = "T"\r\n\r\n[profiles.a.context]\r\nplan = "x"\r\n'
    )
    path.write_bytes(text.encode())
    store = ProfileStore()
    store.edit("a", ProfileChanges(context={"user_id": "u"}, unset_context=("plan",)))
    store.add(ProfileEntry("b", "https://b.example", "p", token_env="T"))
    raw = path.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")  # one line-ending style throughout
    assert b"[profiles.a.context]\r\n" in raw  # edited where it is
    config = load_config()
    assert config.profiles["a"].context == {"user_id": "u"}
    assert set(config.profiles) == {"a", "b"}


def test_a_byte_order_mark_is_accepted_and_edits_keep_the_rest(isolated_home: Path) -> None:
    # Notepad and friends write a BOM: tomllib alone calls it "Invalid statement" at line 1.
    path = paths.profiles_file()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xef\xbb\xbf" + ORIGINAL.encode())
    assert load_config().default_profile == "prod"
    ProfileStore().edit("prod", ProfileChanges(environment_key="live"))
    text = path.read_text(encoding="utf-8")
    assert "# Production: careful" in text and 'environment_key = "live"' in text
    assert load_config().profiles["prod"].environment_key == "live"


_NAMES = st.sampled_from(["a", "b", "c", "prod", "staging"])
_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("add"), _NAMES, st.sampled_from(["p", "q"])),
        st.tuples(st.just("edit"), _NAMES, st.sampled_from(["x", "y"])),
        st.tuples(st.just("remove"), _NAMES, st.just("")),
        st.tuples(st.just("default"), _NAMES, st.just("")),
    ),
    max_size=6,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=_OPS)
def test_any_sequence_of_writes_keeps_file_and_model_in_step(
    isolated_home: Path, ops: list[tuple[str, str, str]]
) -> None:
    path = paths.profiles_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ORIGINAL)
    store = ProfileStore()
    model = {"prod": "production", "staging": "staging"}  # name -> environment key
    default: str | None = "prod"
    original_staging = True
    for op, name, value in ops:
        try:
            if op == "add":
                store.add(ProfileEntry(name, "https://x.example", value, token_env="T"))
                assert name not in model
                model[name] = value
            elif op == "edit":
                store.edit(name, ProfileChanges(environment_key=value, context={"k": value}))
                assert name in model
                model[name] = value
            elif op == "remove":
                store.remove(name)
                assert name in model
                del model[name]
                original_staging = original_staging and name != "staging"
                default = None if default == name else default
            else:
                store.set_default(name)
                assert name in model
                default = name
        except ConfigError:
            assert (op == "add") == (name in model)  # only the expected refusals
        config = load_config()
        assert {n: e.environment_key for n, e in config.profiles.items()} == model
        assert config.default_profile == default
        assert config.keymap == {"filter": "ctrl+f"}
    text = path.read_text()
    assert "# togul-monitor profiles\n" in text and "# my key bindings\n[keymap]" in text
    if original_staging:  # its comment stayed with it through every other change
        assert "# Staging: anything goes\n[profiles.staging]" in text


def test_a_link_into_a_folder_not_there_yet_is_a_one_line_error_exit_2(
    isolated_home: Path, tmp_path: Path
) -> None:
    # A dotfiles link whose repository is not checked out: reads as no file, cannot be written.
    from click.testing import CliRunner

    from togul_monitor.cli import cli

    target = tmp_path / "nowhere" / "sub" / "profiles.toml"
    link = paths.profiles_file()
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    with pytest.raises(ConfigError) as caught:
        ProfileStore().add(ProfileEntry("a", "https://api.togul.io", "production", api_key=SECRET))
    assert f"symbolic link to {target}, whose folder does not exist" in str(caught.value)
    result = CliRunner().invoke(
        cli,
        ["profiles", "add", "a", "--url", "https://api.togul.io", "--environment", "production",
         "--api-key-env", "PROD_KEY"],
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert str(link) in result.output and str(target) in result.output
    assert link.is_symlink() and not target.parent.exists()
