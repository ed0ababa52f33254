"""The dashboard in a real headless Chromium: sign in with a link from the chat, see the
seeded month's figures equal to `facilitator report` for the same week, on a phone's width
without scrolling sideways; a used link refused."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Served

# One served demo for the module: both tests on the same worker.
pytestmark = pytest.mark.xdist_group("browser")

WEEK = "2026-W47"
SHOWN = ("active_members", "newcomers", "messages", "questions_asked", "questions_answered")


def sign_in(driver: Any, link: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(link)
    driver.find_element(By.ID, "confirm").click()


def test_a_coordinator_signs_in_and_sees_the_weeks_of_the_report(
    served: Served, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    link = served.link()
    sign_in(browser, link)
    assert browser.current_url == f"{served.base}/dashboard/"
    assert "Red de facilitadores" in browser.title or "panel" in browser.title
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-week="{WEEK}"]')
    cells = {
        cell.get_attribute("data-figure"): cell.text
        for cell in row.find_elements(By.CSS_SELECTOR, "td[data-figure]")
    }
    report = served.report(WEEK)
    for figure in SHOWN:
        assert cells[figure] == report[figure], (figure, cells, report)
    assert int(cells["messages"]) > 0
    # A phone's width: nothing scrolls sideways (the wide table scrolls inside its card).
    browser.set_window_size(390, 844)
    browser.get(f"{served.base}/dashboard/")
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    # The same link again, even in the same browser, is refused.
    sign_in(browser, link)
    assert "ya se usó" in browser.page_source or "used already" in browser.page_source


def test_without_signing_in_the_page_asks_for_a_link(served: Served, browser: Any) -> None:
    browser.get(f"{served.base}/dashboard/")
    assert "/dashboard" in browser.page_source
    assert "Semanas" not in browser.page_source and "Weeks" not in browser.page_source
