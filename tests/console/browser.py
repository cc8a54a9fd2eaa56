"""Headless Chromium for the console's pages: Debian's browser, driven by Playwright.

    with launched_chromium() as browser:
        tab = watched_page(browser.new_context(**DESKTOP))
        tab.page.goto(url)
        assert_page_clean(tab)         # no console errors, no serious axe violation

Playwright drives the Chromium found on PATH (Debian's package, which `.ci/run`
installs); its own browser download (`playwright install`) is never used. Where no
browser (or no Playwright) is here, the tests skip with the reason, unless
REQUIRE_BROWSER=1 (CI sets it), which turns the skip into a failure.

Every page is checked the same way (`page_problems`):
- the JavaScript console: an error message or an uncaught exception on the page is a
  problem (collected from the moment the page was made, `watched_page`);
- axe-core (vendored, tests/console/vendor/axe.min.js), run in the page with the
  WCAG 2.1 A and AA rules: a violation of impact serious or critical is a problem,
  named by rule, impact, the offending elements' selectors and the rule's help page;
- the width: a page wider than its viewport scrolls sideways on a phone.

With CONSOLE_SCREENSHOTS=1 `screenshot` keeps a PNG of the viewport in docs/console/
(for docs/console.md); without it nothing is written, so `make test` leaves the tree
clean.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.test_docs_browser import browser as chromium_path

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

REPO = Path(__file__).resolve().parents[2]
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = REPO / "docs" / "console"
SCREENSHOTS_ENV = "CONSOLE_SCREENSHOTS"

# The two widths every page is checked at; one pixel per CSS pixel keeps the PNGs small.
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 800}}
PHONE: dict[str, Any] = {
    "viewport": {"width": 375, "height": 812},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 1,
}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}

AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# The page runs axe itself: the vendored copy is evaluated in it (Playwright's evaluate
# is not subject to the page's Content-Security-Policy, so a strict policy is no bar).
AXE_RUN = """async (tags) => {
    const result = await axe.run(document, {
        runOnly: {type: "tag", values: tags},
        resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        targets: v.nodes.map((n) => n.target.join(" ")),
    }));
}"""
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    # Every host but this machine is unreachable: an asset from a CDN would not load.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, under Playwright; closed at the end. Skips (or fails,
    with REQUIRE_BROWSER=1) when there is no browser or no Playwright."""
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=list(LAUNCH_ARGS))
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Tab:
    """A page and the console errors and uncaught exceptions it has had so far."""

    page: Page
    errors: list[str] = field(default_factory=list)


def watched_page(context: BrowserContext) -> Tab:
    """A new page of `context` that records its console errors and uncaught exceptions."""
    tab = Tab(context.new_page())

    def on_console(message: Any) -> None:
        if message.type == "error":
            tab.errors.append(f"console.error at {tab.page.url}: {message.text}")

    tab.page.on("console", on_console)
    tab.page.on("pageerror", lambda exc: tab.errors.append(f"uncaught at {tab.page.url}: {exc}"))
    return tab


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now (every impact)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("(source) => { (0, eval)(source); }", AXE_JS.read_text())
    violations: list[dict[str, Any]] = page.evaluate(AXE_RUN, list(AXE_TAGS))
    return violations


def blocking(violations: list[dict[str, Any]]) -> list[str]:
    """The serious and critical ones, each as one readable line."""
    return [
        f"axe {v['id']} ({v['impact']}): {v['help']}; at {', '.join(v['targets'][:5])}; "
        f"{v['helpUrl']}"
        for v in violations
        if v["impact"] in BLOCKING_IMPACTS
    ]


def overflow(page: Page) -> str | None:
    """Why the page is wider than its viewport (it would scroll sideways, or, with no
    `<meta name="viewport">`, be laid out at a desktop width on a phone), or None."""
    width = page.evaluate("() => document.documentElement.scrollWidth")
    viewport = page.viewport_size
    if viewport is not None and width > viewport["width"] + 1:
        return f"{page.url} is {width}px wide in a {viewport['width']}px viewport"
    return None


def page_problems(tab: Tab, *, allowed_errors: tuple[str, ...] = ()) -> list[str]:
    """Everything wrong with the tab's page as it is now: its console errors (but those
    that contain one of `allowed_errors`), axe's serious and critical violations, a
    sideways scroll."""
    problems = [e for e in tab.errors if not any(a in e for a in allowed_errors)]
    problems += [f"{tab.page.url}: {line}" for line in blocking(axe_violations(tab.page))]
    wide = overflow(tab.page)
    if wide:
        problems.append(wide)
    return problems


def assert_page_clean(tab: Tab, *, allowed_errors: tuple[str, ...] = ()) -> None:
    """Fail, naming each problem, unless `page_problems` finds none."""
    problems = page_problems(tab, allowed_errors=allowed_errors)
    assert not problems, f"{tab.page.url}:\n  " + "\n  ".join(problems)


def screenshot(page: Page, name: str) -> Path | None:
    """With CONSOLE_SCREENSHOTS=1, docs/console/NAME.png of the viewport; else nothing."""
    if os.environ.get(SCREENSHOTS_ENV) != "1":
        return None
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), animations="disabled", caret="hide")
    return path
