"""The demo chat in a real browser: Debian's chromium driven by Playwright (no download)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

import pachinko
from pachinko.testing.server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 5_000


def launch(playwright: Playwright) -> Browser:
    """Start the system chromium; a missing one fails the test (never skips it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def join(page: Page, url: str, nick: str) -> None:
    """Open the chat, pick a nick and join; return once the socket is open."""
    page.goto(url)
    page.fill("#nick", nick)
    page.click("#join button[type=submit]")
    expect(page.locator("#text")).to_be_enabled()


def test_a_message_typed_in_one_page_appears_in_the_other() -> None:
    room = f"browser-{uuid.uuid4().hex[:8]}"
    with (
        LiveServer(pachinko.build(ROOT / "pachinko.toml")) as server,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        try:
            context = browser.new_context()
            context.set_default_timeout(TIMEOUT_MS)
            url = f"{server.http_url}/?room={room}"
            bob, alice = context.new_page(), context.new_page()
            join(bob, url, "bob")
            join(alice, url, "alice")
            expect(bob.locator("#messages li")).to_contain_text(["alice joined"])

            alice.fill("#text", "hello from alice")
            alice.press("#text", "Enter")
            expect(bob.locator("#messages li")).to_contain_text(["alice: hello from alice"])
            expect(alice.locator("#messages li")).to_contain_text(["alice: hello from alice"])
            expect(alice.locator("#text")).to_have_value("")

            bob.fill("#nick", "robert")
            bob.click("#join button[type=submit]")
            expect(alice.locator("#messages li")).to_contain_text(["bob is now robert"])

            alice.close()
            expect(bob.locator("#messages li")).to_contain_text(["alice left"])
        finally:
            browser.close()
