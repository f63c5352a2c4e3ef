"""Browser-test helpers: an ASGI app served by uvicorn on a loopback port in a thread, and Debian's headless
Chromium driven by Selenium (no browser download: /usr/bin/chromium and /usr/bin/chromedriver)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]

needs_chromium = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")


class ServerThread:
    """`with ServerThread(app) as server:` serves `app` at `server.url`; `server.call(fn, *args)` runs fn on
    the server's event loop (asyncio objects such as a `Broadcast` must be touched there)."""

    def __init__(self, app) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="critical", lifespan="off", timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="ui-test-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self.server.serve(sockets=[self.sock]))

    def __enter__(self) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def call(self, fn, *args):
        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(5)

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def screenshot(driver, name: str) -> None:
    """Keep what the page shows as MATAKOTA_SCREENSHOTS/name.png when that folder is set (for notes and reviews)."""
    folder = os.environ.get("MATAKOTA_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def chromium(profile: Path, width: int = 1680, height: int = 1050):
    """A fresh headless Chromium (its own profile directory) under chromedriver."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))


def wait_for(driver, condition, timeout: float = 30.0, what: str = "condition"):
    """Poll `condition(driver)` until it returns something truthy; the last value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition(driver)
        except Exception as error:  # elements come and go while the page renders
            value, last_error = None, error
        else:
            last_error = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f" ({last_error!r})" if last_error else ""))
        time.sleep(0.1)
