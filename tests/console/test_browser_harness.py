"""The browser harness's checks fail on pages that are broken on purpose.

Each page here is made in the browser (no console server needed): a low-contrast
paragraph, a console.error, an uncaught exception, an element wider than a phone.
A clean page passes, so the checks are not failing everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.console import browser as harness
from tests.console.browser import (
    DESKTOP,
    PHONE,
    assert_page_clean,
    launched_chromium,
    page_problems,
    watched_page,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CLEAN = """<!doctype html><html lang="en"><head><title>Clean</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><a href="#main">Skip to content</a><nav aria-label="Main"><a href="#main">Home</a></nav>
<main id="main"><h1>Clean</h1><p>Readable text.</p>{body}</main></body></html>"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launched_chromium() as browser:
        yield browser


def problems_of(chromium: Browser, body: str, width: dict[str, Any] = DESKTOP) -> list[str]:
    context = chromium.new_context(**width)
    try:
        tab = watched_page(context)
        tab.page.set_content(CLEAN.format(body=body))
        tab.page.wait_for_timeout(50)  # let a script's error reach the listener
        return page_problems(tab)
    finally:
        context.close()


def test_a_clean_page_has_no_problems_at_either_width(chromium: Browser) -> None:
    assert problems_of(chromium, "") == []
    assert problems_of(chromium, "", PHONE) == []


def test_low_contrast_text_is_a_serious_axe_violation(chromium: Browser) -> None:
    problems = problems_of(chromium, '<p style="color:#bbb;background:#fff">Faint</p>')
    assert len(problems) == 1, problems
    assert problems[0].startswith("about:blank: axe color-contrast (serious)"), problems
    assert "dequeuniversity.com/rules/axe/" in problems[0]


def test_an_unlabelled_input_is_a_critical_axe_violation(chromium: Browser) -> None:
    problems = problems_of(chromium, '<form><input type="text" name="q"></form>')
    assert any(p.startswith("about:blank: axe label (critical)") for p in problems), problems
    assert any("input" in p for p in problems), problems


def test_a_console_error_is_a_problem(chromium: Browser) -> None:
    problems = problems_of(chromium, "<script>console.error('broken on purpose')</script>")
    assert problems == ["console.error at about:blank: broken on purpose"]


def test_an_uncaught_exception_is_a_problem(chromium: Browser) -> None:
    problems = problems_of(chromium, "<script>null.boom()</script>")
    assert len(problems) == 1 and problems[0].startswith("uncaught at about:blank:"), problems


def test_a_page_wider_than_a_phone_is_a_problem(chromium: Browser) -> None:
    wide = '<div style="width:900px">wide</div>'
    assert problems_of(chromium, wide) == []  # fits at 1280 px
    assert problems_of(chromium, wide, PHONE) == [
        "about:blank is 908px wide in a 375px viewport"  # and the body's margin
    ]


def test_a_page_with_no_viewport_meta_is_too_wide_on_a_phone(chromium: Browser) -> None:
    page = CLEAN.format(body="").replace('<meta name="viewport"', '<meta name="x"')
    context = chromium.new_context(**PHONE)
    tab = watched_page(context)
    tab.page.set_content(page)
    problems = page_problems(tab)  # laid out at Chromium's 980 px desktop default
    assert len(problems) == 1 and " wide in a 375px viewport" in problems[0], problems
    context.close()


def test_assert_page_clean_names_every_problem(chromium: Browser) -> None:
    context = chromium.new_context(**DESKTOP)
    tab = watched_page(context)
    tab.page.set_content(CLEAN.format(body="<script>console.error('one')</script>"))
    with pytest.raises(AssertionError, match=re.escape("console.error at about:blank: one")):
        assert_page_clean(tab)
    assert_page_clean(tab, allowed_errors=("one",))
    context.close()


def test_screenshots_only_when_asked(
    chromium: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(harness, "SCREENSHOTS", tmp_path)
    context = chromium.new_context(**PHONE)
    tab = watched_page(context)
    tab.page.set_content(CLEAN.format(body=""))
    monkeypatch.delenv(harness.SCREENSHOTS_ENV, raising=False)
    assert harness.screenshot(tab.page, "clean") is None
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(harness.SCREENSHOTS_ENV, "1")
    shot = harness.screenshot(tab.page, "clean")
    assert shot == tmp_path / "clean.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    context.close()
