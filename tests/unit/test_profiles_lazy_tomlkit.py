"""Reading the profiles (every command's start, the TUI's first frame) never imports tomlkit:
only what writes the file does (config/profiles.py, config/profile_changes.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from togul_monitor.config.profiles import ProfileChanges, ProfileStore

PROBE = """
import sys
from pathlib import Path
import togul_monitor.cli, togul_monitor.demo
from togul_monitor.config.profiles import ProfileChanges, load_config
config = load_config(Path(sys.argv[1]))
ProfileChanges(watch=("a",)).apply({"watch": ["b"]}, toml=False)
print(",".join(sorted(config.profiles)), "tomlkit" in sys.modules)
"""

FILE = """\
# mine
[profiles.a]
base_url = "https://a.example"  # the server
environment_key = "production"
token_env = "TOGUL_TOKEN"
"""


def test_reading_profiles_imports_no_tomlkit(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(FILE)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["a", "False"]


def test_an_edit_still_writes_through_tomlkit_keeping_comments(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text(FILE)
    ProfileStore(path).edit("a", ProfileChanges(context={"plan": "premium"}, watch=("x",)))
    text = path.read_text()
    assert text.startswith("# mine\n") and "# the server" in text
    assert 'plan = "premium"' in text and 'watch = ["x"]' in text
