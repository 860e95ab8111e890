"""Helpers of the browser tests: uvicorn in a thread on a free port, Debian's Chromium
through Playwright (never downloaded), screenshots into artifacts/screenshots/."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any, port: int | None = None) -> Iterator[str]:
    """`app` served by uvicorn in a thread, on `port` (a free one when not given)."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
    )
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while not server.started:  # a deadline against hanging, not a timed assertion
        if time.monotonic() > deadline or not t.is_alive():
            raise AssertionError("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(10)


@contextmanager
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("STANDBY_TEST_BROWSER") == "required":
            pytest.fail(f"{CHROMIUM} is missing and STANDBY_TEST_BROWSER=required")
        pytest.skip("no Chromium at /usr/bin/chromium")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("STANDBY_TEST_BROWSER") == "required":
            raise
        pytest.skip("playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"web-{name}.png"), full_page=full_page)


# ---- zoom, axe-core, printing --------------------------------------------------------------
# Browser zoom as CSS pixels: a 1280x800 window at 200% lays out as 640x400 CSS pixels.
WINDOW = {"width": 1280, "height": 800}


def zoomed(percent: int, window: dict[str, int] = WINDOW) -> dict[str, Any]:
    """`new_page` arguments for `window` at `percent` browser zoom."""
    f = percent / 100
    return {
        "viewport": {"width": round(window["width"] / f), "height": round(window["height"] / f)},
        "device_scale_factor": f,
    }


ROOT = Path(__file__).resolve().parents[2]
AXE_PATHS = [
    ROOT / ".cache" / "node_modules" / "axe-core" / "axe.min.js",
    ROOT / "node_modules" / "axe-core" / "axe.min.js",
]


def axe_source() -> str:
    """axe-core's script, as `make test` installs it (npm, into .cache/node_modules)."""
    for p in AXE_PATHS:
        if p.exists():
            return p.read_text(encoding="utf-8")
    if os.environ.get("STANDBY_TEST_BROWSER") == "required":
        pytest.fail("axe-core is missing: `make test` installs it into .cache/node_modules")
    pytest.skip("axe-core is not installed (`make test` installs it)")


def axe_violations(page: Any, source: str) -> list[str]:
    """axe-core's violations on the page as it stands, one line per rule and element."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=source)
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {', '.join(map(str, n['target']))} — {v['help']}"
        for v in result["violations"]
        for n in v["nodes"]
    ]


def log_in(page: Any, base: str, username: str) -> None:
    """Log in through the form, as a person would (password `support.web_site.PASSWORD`)."""
    from support.web_site import PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def pdf_page_texts(pdf: bytes) -> list[str]:
    """The text of each page of a PDF, whitespace collapsed."""
    import io

    from pypdf import PdfReader

    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(pdf)).pages]
