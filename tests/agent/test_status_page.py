"""The /status page in headless Chromium: every check shown, no console errors, refreshes in place."""
from __future__ import annotations

from pathlib import Path

from playwright.async_api import async_playwright

from tests.agent.conftest import serve_agent

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CONFIG = """
status_page: {refresh_seconds: 0.5}
checks:
  postgres: {type: fixed, target: sp-pg, interval: 0.3, timeout: 0.2, critical: true, groups: [readiness]}
  redis: {type: fixed, target: sp-redis, interval: 0.3, timeout: 0.2, options: {status: warn, output: "memory 91% of maxmemory"}}
  smtp: {type: fixed, target: sp-smtp, interval: 0.3, timeout: 0.2, options: {status: fail, output: "<b>refused</b>"}}
  disk: {type: fixed, target: sp-disk, interval: 0.3, timeout: 0.2}
"""


async def test_status_page_in_chromium(agent_config) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    async with serve_agent(agent_config(CONFIG)) as running, async_playwright() as pw:
        html = (await running.client.get("/status")).text
        assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in html  # fallback without JS
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            problems: list[str] = []
            page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            await page.goto(f"{running.url}/status")
            await page.wait_for_selector("section.check[data-check=disk]")
            cards = page.locator("section.check")
            assert sorted(await cards.evaluate_all("cs => cs.map(c => c.dataset.check)")) == [
                "disk", "postgres", "redis", "smtp"]
            smtp = page.locator("section.check[data-check=smtp]")
            assert await smtp.get_attribute("data-status") == "fail"
            assert await smtp.locator(".output").inner_text() == "<b>refused</b>"  # text, never markup
            assert await page.locator("#overall").inner_text() == "WARN"  # only non-critical ones fail
            # it refreshes in place: the history strip grows without a navigation
            first = await page.locator("section.check[data-check=postgres] .history span").count()
            await page.wait_for_function(
                f"document.querySelectorAll('section.check[data-check=postgres] .history span').length > {first}")
            assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"page scrolls sideways on a phone ({width}px)"
            await page.screenshot(path=str(ARTIFACTS / "agent-status-page.png"), full_page=True)
            assert problems == []
        finally:
            await browser.close()
