"""A real server on a free loopback port, and headless Chromium driven by Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts" / "screenshots"
AXE = REPO / ".data" / "tools" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    database_url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_server(
    tmp: Path,
    *,
    database_url: str | None = None,
    demo: bool = True,
    extra_env: dict[str, str] | None = None,
) -> LiveServer:
    """Migrate a database, load the demo data, and run `openqpp serve` in a child process
    (``extra_env``: more settings, e.g. OPENQPP_CLOCK to pin the clock)."""
    database_url = database_url or f"sqlite:///{tmp / 'live.db'}"
    port = free_port()
    env = {
        **os.environ,
        "OPENQPP_DATABASE_URL": database_url,
        "OPENQPP_LOG_JSON": "true",
        **(extra_env or {}),
    }
    log = tmp / "server.log"
    args = [sys.executable, "-m", "openqpp.cli", "serve", "--port", str(port)]
    if demo:
        args.append("--demo")
    process = subprocess.Popen(
        args, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=REPO
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return LiveServer(url, database_url, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not become healthy:\n{log.read_text()}")


def stop_server(server: LiveServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("live"))
    yield server
    stop_server(server)


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Chromium is not installed: run `make test` (it installs Debian's chromium).")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        yield instance
        instance.close()


def csp_violations(page: Any) -> list[str]:
    """Console reports of Content-Security-Policy refusals on ``page`` (filled as they come)."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page; the test fails if the server's Content-Security-Policy refused anything
    the page tried to load or run (an inline script or style, a foreign host)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    refused = csp_violations(page)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in request.node.name)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{safe}.png"), full_page=True)
    finally:
        context.close()
    assert not refused, "the Content-Security-Policy refused:\n" + "\n".join(refused)


WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
"""axe-core rules checked: WCAG 2.0 and 2.1, levels A and AA."""


def assert_accessible(page: Any) -> None:
    """Run axe-core on the page; fail on any WCAG 2.0 or 2.1 A or AA violation."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `openqpp data install`.")
    # Evaluated through the DevTools protocol, which the page's CSP does not govern (a
    # <script> tag with the code inline would be refused, as it should be).
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async (tags) => await axe.run(document, {
               runOnly: {type: 'tag', values: tags},
               resultTypes: ['violations']})""",
        list(WCAG_TAGS),
    )
    violations = result["violations"]
    summary = "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} -> "
        + "; ".join(node["target"][0] for node in v["nodes"][:5])
        for v in violations
    )
    assert not violations, f"accessibility violations on {page.url}:\n{summary}"
