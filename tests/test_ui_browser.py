"""End to end: ``qa serve`` in a subprocess, driven by Chromium through Playwright.

Skipped only when Debian's Chromium is not installed (CI installs it).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
SEED_FILE = "000_b17fa6633de3b991.txt"
TIMEOUT_MS = 120_000  # the first question loads the encoder; CPUs here are shared

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium fonts-noto-cjk)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server(seed_index: Path, tmp_path: Path) -> Iterator[str]:
    """``qa serve`` on a free port over the seed index (load only, never build)."""
    port = free_port()
    log = (tmp_path / "serve.log").open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "qa", "serve", "--index", str(seed_index),
         "--corpus", str(tmp_path / "no-corpus"), "--port", str(port)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"qa serve exited {proc.returncode}:\n"
                            + (tmp_path / "serve.log").read_text(encoding="utf-8"))
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("qa serve did not answer within 120 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def test_chat_in_a_real_browser(server: str, tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(server, wait_until="domcontentloaded")
            box = page.locator("#qa-question textarea")
            box.wait_for()
            replies = page.locator("#qa-chat .qa-reply")

            def ask(question: str, shot: str) -> str:
                before = replies.count()
                box.fill(question)
                box.press("Enter")
                page.wait_for_function(
                    "n => document.querySelectorAll('#qa-chat .qa-reply').length > n", arg=before
                )
                page.wait_for_timeout(500)  # let the scroll settle before the screenshot
                page.screenshot(path=str(tmp_path / f"{shot}.png"))
                return replies.nth(before).inner_text()

            zh = ask("哪个区布局磁存储芯片？", "1-chinese")
            assert "西海岸新区" in zh
            assert SEED_FILE in zh
            # the short answer first, then the sentence; in the passage the sentence is
            # marked once and the short answer inside it
            assert replies.first.locator(".qa-short").inner_text() == "西海岸新区"
            assert zh.index("西海岸新区") < zh.index("依据")
            assert replies.first.locator("mark:not(.qa-span)").count() == 1
            assert replies.first.locator("mark mark.qa-span").inner_text() == "西海岸新区"
            assert SEED_FILE in replies.first.locator("details[open] summary").first.inner_text()

            en = ask("Which district hosts magnetic storage chips?", "2-english")
            assert "西海岸新区" in en and SEED_FILE in en

            none = ask("烟台市磁存储芯片产业布局在哪个区？", "3-abstain")
            assert "未在语料中找到依据" in none
            assert "最接近的段落" in none and "[1]" in none  # closest passages still shown

            ask("<script>alert(1)</script>", "4-script")
            ask("<img src=x onerror=alert(2)>", "5-img")
            users = page.locator("#qa-chat .message-row.user-row").all_inner_texts()
            assert "<script>alert(1)</script>" in users[-2]  # shown, as text
            assert "<img src=x onerror=alert(2)>" in users[-1]
            assert page.locator("#qa-chat script, #qa-chat img[src='x']").count() == 0
            page.wait_for_timeout(500)
            assert dialogs == []

            empty = ask("", "6-empty")
            assert "问题为空" in empty
            # History stays on screen: six questions, six replies.
            assert replies.count() == 6
            page.screenshot(path=str(tmp_path / "7-history.png"), full_page=True)
            desktop = page.evaluate("() => document.querySelector('#qa-chat').offsetHeight")
            assert 500 <= desktop <= 700  # a fixed-height chat box with its own scrollbar

            # A 390-px phone: the chat grows with the page (no box of its own to scroll), and
            # source markup (003 has <p> tags and tabs) is not shown.
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.set_default_timeout(TIMEOUT_MS)
            phone.goto(server, wait_until="domcontentloaded")
            phone_box = phone.locator("#qa-question textarea")
            phone_box.wait_for()
            phone_box.fill("雷沃重工推动工程机械产业向什么方向发展？")
            phone_box.press("Enter")
            phone.wait_for_function("() => document.querySelectorAll('#qa-chat .qa-reply').length")
            phone.wait_for_timeout(500)
            phone.screenshot(path=str(tmp_path / "8-phone.png"), full_page=True)
            reply = phone.locator("#qa-chat .qa-reply").first.text_content()
            assert "003_09d1406d1d7e5116.txt" in reply and "<p>" not in reply
            inner, shown, width = phone.evaluate(
                "() => { const w = document.querySelector('#qa-chat .bubble-wrap');"
                " return [w.scrollHeight, w.clientHeight, document.documentElement.scrollWidth]; }"
            )
            assert inner <= shown + 2, "the chat box scrolls on its own on a phone"
            assert width <= 390 + 2
        finally:
            browser.close()
