"""Screenshots of the screens docs/screens.md shows, from a running demo instance.

Usage (a demo started with ``partnerflow run``, then)::

    .venv/bin/python scripts/screens.py --base-url http://127.0.0.1:8000 --tag after

Each role logs in through the login form in Russian at 1366 x 768 (a common laptop
screen) and the script saves ``docs/img/screen-<name>-<tag>.png``. A statement and a
contract are PDFs: their first page is rasterized with poppler's ``pdftoppm``. If the
demo has no closed period or contract yet, the script makes one the way a person does
(the manager closes the first open month and starts an onboarding, legal creates the
partner's contract) and waits for the worker to render it.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
OUT = Path(__file__).resolve().parents[1] / "docs" / "img"
VIEWPORT = {"width": 1366, "height": 768}
PASSWORDS = {
    "manager": "manager-demo",
    "legal": "legal-demo",
    "partner": "partner-demo",
    "integration": "integration-demo",
}
#: how long to wait for the worker to render a PDF
RENDER_WAIT_SECONDS = 180


def log_in(page: Page, base: str, role: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", role)
    page.fill("input[name=password]", PASSWORDS[role])
    with page.expect_navigation():
        page.click("[type=submit]")


def shot(page: Page, name: str, tag: str, full_page: bool = True) -> None:
    path = OUT / f"screen-{name}-{tag}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(path.relative_to(OUT.parents[1]))


def pdf_page(page: Page, url: str, name: str, tag: str) -> None:
    """Download a PDF with the page's session and save its first page as PNG."""
    response = page.request.get(url)
    if not response.ok or not response.body().startswith(b"%PDF"):
        print(f"no PDF at {url} ({response.status})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        pdf = Path(tmp) / "doc.pdf"
        pdf.write_bytes(response.body())
        target = OUT / f"screen-{name}-{tag}"
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", pdf, target],
            check=True,
        )
    print(f"docs/img/screen-{name}-{tag}.png")


def ensure_statement(page: Page, base: str) -> None:
    """As the manager: close the first open month unless a period is closed already."""
    page.goto(f"{base}/statements/")
    if page.locator("#closes a").count() == 0:
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.click("#close-form [type=submit]")
    deadline = time.monotonic() + RENDER_WAIT_SECONDS
    while time.monotonic() < deadline:
        page.goto(f"{base}/statements/")
        row = page.locator("#closes tbody tr").first
        total = row.locator("[data-count=total]").inner_text()
        ready = row.locator("[data-count=ready]").inner_text()
        if total == ready:
            return
        time.sleep(3)


def ensure_contract(page: Page, base: str) -> str | None:
    """As legal: the first contract's page, creating one for the first partner if none."""
    page.goto(f"{base}/contracts/list/")
    links = page.locator("a[href*='/contracts/show/']")
    if links.count() == 0:
        page.goto(f"{base}/contracts/add")
        with page.expect_navigation():
            page.click("#pf-generate [type=submit]")
    else:
        with page.expect_navigation():
            links.first.click()
    url = page.url
    deadline = time.monotonic() + RENDER_WAIT_SECONDS
    while time.monotonic() < deadline:
        page.goto(url)
        if page.locator("a[href$='/pdf']").count():
            return page.locator("a[href$='/pdf']").first.get_attribute("href")
        time.sleep(3)
    return None


def open_onboarding(page: Page, base: str) -> None:
    """As the manager: an onboarding's page, starting one for the first partner offered
    if none is open (the boards list the open ones)."""
    page.goto(f"{base}/workflows/")
    for board in page.locator("a[href*='/workflows/board/']").all():
        href = board.get_attribute("href") or ""
        page.goto(base + href if href.startswith("/") else href)
        instance = page.locator("a[href*='/workflows/instance/']")
        if instance.count():
            with page.expect_navigation():
                instance.first.click()
            return
        page.goto(f"{base}/workflows/")
    with page.expect_navigation():
        page.click("#pf-start-partner [type=submit]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--tag", default="after", help="before or after")
    args = parser.parse_args()
    base, tag = args.base_url.rstrip("/"), args.tag
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--lang=ru-RU"],
        )

        def session(role: str) -> Page:
            context = browser.new_context(viewport=VIEWPORT, locale="ru-RU")
            page = context.new_page()
            log_in(page, base, role)
            return page

        manager = session("manager")
        ensure_statement(manager, base)
        manager.goto(f"{base}/")
        shot(manager, "home-manager", tag)
        manager.goto(f"{base}/dashboard/")
        shot(manager, "dashboard", tag)
        manager.goto(f"{base}/statements/")
        with manager.expect_navigation():
            manager.locator("#closes tbody a").first.click()
        shot(manager, "statement-close", tag)
        open_onboarding(manager, base)
        shot(manager, "onboarding", tag)

        legal = session("legal")
        pdf = ensure_contract(legal, base)
        shot(legal, "contract", tag)
        legal.goto(f"{base}/")
        shot(legal, "home-legal", tag)
        if pdf:
            pdf_page(legal, base + pdf if pdf.startswith("/") else pdf, "contract-pdf", tag)

        integration = session("integration")
        integration.goto(f"{base}/")
        shot(integration, "home-integration", tag)

        partner = session("partner")
        partner.goto(f"{base}/portal/")
        shot(partner, "home-partner", tag)
        partner.goto(f"{base}/portal/statements")
        statement = partner.locator("a[href*='/portal/statements/'][href$='.pdf']")
        if statement.count():
            href = statement.first.get_attribute("href") or ""
            pdf_page(partner, base + href if href.startswith("/") else href, "statement", tag)
        browser.close()


if __name__ == "__main__":
    main()
