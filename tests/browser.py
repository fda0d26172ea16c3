"""Debian's Chromium, headless, driven by Playwright's Python package (its driver only: no
browser is downloaded, `executable_path` names the system's Chromium).

`missing()` says why a browser test cannot run here (then it is skipped with that reason);
`open_page(url)` yields a Playwright page and the console messages and page errors it logs.

Run as a script it writes the README's screenshot of a listening page:

    .venv/bin/python tests/browser.py PAGE_FOLDER docs/listening-page.png
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

CHROMIUM = os.environ.get("BITMAP2PCM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; without the background-networking flags it keeps
# trying to reach Google's services, which a closed network answers with errors and delays.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--disable-dev-shm-usage", "--mute-audio"]
VIEWPORT = {"width": 1400, "height": 1000}


def missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return (f"no Chromium at {CHROMIUM} (install Debian's: apt-get install -y chromium; or name "
                "one in BITMAP2PCM_CHROMIUM)")
    if importlib.util.find_spec("playwright") is None:
        return ("no Playwright driver (pip install playwright, the Python package alone: it drives "
                "the system's Chromium, no browser download)")
    return None


@contextlib.contextmanager
def open_page(url: str, viewport: dict[str, int] = VIEWPORT) -> Iterator[tuple[object, list[str]]]:
    """A fresh headless Chromium (new profile) at `url`: yields the page and a list that
    collects every console message of type error and every uncaught page error."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chromium-profile.") as profile, sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport=viewport)
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}")
                    if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            # (a media element's first request, aborted when it asks for ranges, is no problem)
            page.on("requestfailed", lambda request: None if request.failure == "net::ERR_ABORTED"
                    else problems.append(f"request failed: {request.url} ({request.failure})"))
            page.goto(url, wait_until="load")
            yield page, problems
        finally:
            context.close()


def wait_until_ready(page, timeout_ms: int = 20000) -> None:
    """Until the page has settled its media's sources (see `seekable` in page.py), every
    media element has its first frame or samples (readyState >= 2) and every image has
    decoded or failed."""
    page.wait_for_function(
        """() => document.documentElement.dataset.media === "ready"
              && Array.from(document.querySelectorAll("video, audio")).every(m => m.readyState >= 2 || m.error)
              && Array.from(document.images).every(i => i.complete)""", timeout=timeout_ms)


def screenshot(folder: Path, destination: Path, height: int = 1250) -> None:
    """The top of the listening page in `folder` as a PNG, after the media have loaded: the
    first player 1.5 s in, its first brain track chosen, its plot, the metric table when it
    fits."""
    with open_page((folder / "index.html").resolve().as_uri(), {"width": 1400, "height": height}) as (page, problems):
        wait_until_ready(page)
        page.locator("article.video").first.locator("label.track.brain").first.click()
        page.evaluate("document.querySelector('video.picture').currentTime = 1.5")
        page.wait_for_function("document.querySelector('video.picture').readyState >= 2")
        page.screenshot(path=str(destination))
        if problems:
            raise SystemExit("\n".join(problems))


if __name__ == "__main__":
    if len(sys.argv) != 3 or missing():
        raise SystemExit(missing() or __doc__)
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
