"""Helpers for the browser tests: start ``app.py`` as a subprocess on a free port, wait
until it answers, and drive the page with Playwright (Debian's Chromium)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
READY_TIMEOUT = 180.0
ANSWER_TIMEOUT_MS = 60_000
PAGE_TIMEOUT_MS = 90_000  # a wait limit, not a speed check: the page renders slowly on a loaded 2-core machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningApp:
    process: subprocess.Popen
    url: str
    log_path: Path
    ready_seconds: float

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_app(index_dir: Path, corpus_dir: Path, log_path: Path, timeout: float = READY_TIMEOUT) -> RunningApp:
    """Start ``python app.py`` and poll its URL until it answers (or fail with its log)."""
    port = free_port()
    env = dict(os.environ, ASSISTANT_HOST="127.0.0.1", ASSISTANT_PORT=str(port), GRADIO_ANALYTICS_ENABLED="False")
    log = open(log_path, "w")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "--index", str(index_dir), "--corpus", str(corpus_dir)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}/"
    app = RunningApp(proc, url, log_path, 0.0)
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise AssertionError(f"app.py exited with code {proc.returncode}:\n{app.log()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    app.ready_seconds = time.perf_counter() - t0
                    return app
        except OSError:
            pass
        time.sleep(0.2)
    app.stop()
    raise AssertionError(f"app.py was not ready after {timeout:.0f}s:\n{app.log()}")


def launch_chromium(playwright):
    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (the browser tests need it).")
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def open_page(browser, url: str, width: int = 1280, height: int = 800):
    """A fresh page (own conversation) that records any JavaScript dialog in ``page.dialogs``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.dialogs = []

    def on_dialog(d):
        page.dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", on_dialog)
    page.goto(url)
    page.wait_for_selector("#question textarea", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector("#chat .chat", timeout=PAGE_TIMEOUT_MS)
    return page


def ask(page, question: str):
    """Type ``question``, press Ask, wait for its turn to render. Returns (turn locator, seconds)."""
    before = page.locator("#chat .turn").count()
    page.fill("#question textarea", question)
    t0 = time.perf_counter()
    page.click("#ask")
    page.wait_for_function(
        "n => document.querySelectorAll('#chat .turn').length > n", arg=before, timeout=ANSWER_TIMEOUT_MS
    )
    seconds = time.perf_counter() - t0
    return page.locator("#chat .turn").last, seconds


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.wait_for_timeout(400)  # let the smooth scroll settle
    page.screenshot(path=str(path))
    return path
