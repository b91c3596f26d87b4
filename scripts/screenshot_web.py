#!/usr/bin/env python3
"""Regenerate `screenshots/web.png`: `togul-monitor web --demo` in a real headless Chromium.

Runs the command as a real process in a fresh home, opens its page at 1280×800 over the Chrome
DevTools protocol (the helpers of tests/integration/test_web.py), waits until the page's
terminal has received several rows of the live feed, and captures the page.

    .venv/bin/python scripts/screenshot_web.py              # screenshots/web.png
    .venv/bin/python scripts/screenshot_web.py -o shot.png  # elsewhere

Needs Chromium (`apt-get install chromium` on Debian).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.web_browser import (  # noqa: E402
    FEED_ROW,
    Page,
    WebProcess,
    chromium_path,
    headless_page,
)

ROWS = 10  # feed rows on the page before it is captured (the demo makes about 2 a second)


async def rows_shown(page: Page, rows: int, timeout: float) -> None:
    """Until `rows` different feed rows reached the page's terminal."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(set(FEED_ROW.findall(page.terminal_text()))) < rows:
        if loop.time() > deadline:
            raise SystemExit(f"the page showed fewer than {rows} feed rows in {timeout:g} s")
        await page.pump(timeout=1)


async def shoot(browser: str, out: Path, home: Path) -> None:
    web = WebProcess("--demo")
    try:
        url = web.url()
        async with headless_page(browser, home / "chromium", width=1280, height=800) as (page, _):
            await page.call("Page.navigate", url=url)
            await page.wait_text(FEED_ROW, timeout=30)
            # The page as focused (a click would do it): the TUI starts blurred under
            # textual-serve, and Textual's key bar stays empty while the app has no focus.
            # textual.js tells the TUI on the terminal screen's focus event.
            await page.call(
                "Runtime.evaluate",
                expression="document.querySelector('.xterm-screen')"
                ".dispatchEvent(new FocusEvent('focus'))",
            )
            await rows_shown(page, ROWS, timeout=60)
            await page.screenshot(out)
    finally:
        web.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "screenshots" / "web.png")
    args = parser.parse_args()
    browser = chromium_path()
    if browser is None:
        print("no Chromium installed (apt-get install chromium)", file=sys.stderr)
        return 1
    # A fresh home: no user profile, keymap or journal leaks into the screenshot.
    with tempfile.TemporaryDirectory(prefix="togul-web-shot-") as home:
        os.environ["TOGUL_MONITOR_HOME"] = home
        for var in ("TOGUL_MONITOR_PROFILE", "TOGUL_BASE_URL", "TOGUL_API_KEY", "TOGUL_TOKEN"):
            os.environ.pop(var, None)
        asyncio.run(shoot(browser, args.out, Path(home)))
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
