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
    """Open the link, confirm, and wait for the answer: the overview, or a refusal."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(link)
    driver.find_element(By.ID, "confirm").click()
    WebDriverWait(driver, 20).until(
        lambda d: d.find_elements(By.ID, "trend") or d.find_elements(By.ID, "message")
    )


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


def test_a_gap_dismissed_on_the_page_leaves_gaps_in_the_chat(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    question = "zebra llama budget for the festival"
    assert "noted the question" in served.chat("bea", f"/faq {question}")
    sign_in(browser, served.link())
    browser.get(f"{served.base}/dashboard/knowledge")
    rows = browser.find_elements(By.CSS_SELECTOR, "table[data-table=gaps] tbody tr")
    row = next((tr for tr in rows if question in tr.text), None)
    assert row is not None, browser.page_source
    row.find_element(By.CSS_SELECTOR, "button[data-action=gap_dismiss]").click()
    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.ID, "done"))
    assert question not in browser.find_element(By.ID, "table-gaps").text
    assert question not in served.chat("ana", "/gaps")


def test_the_network_page_is_refused_to_a_coordinator(served: Served, browser: Any) -> None:
    sign_in(browser, served.link())
    browser.get(f"{served.base}/dashboard/network")
    assert "admins" in browser.page_source or "administra" in browser.page_source
    assert "Communities side by side" not in browser.page_source


def test_a_coordinator_of_another_community_sees_only_theirs(served: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser.conftest import add_community

    add_community(served, "andes", "Andes water network", "zoe")
    sign_in(browser, served.link("console:zoe", community="andes"))
    assert "Andes water network" in browser.find_element(By.TAG_NAME, "h1").text
    browser.get(f"{served.base}/dashboard/knowledge")
    assert "Knowledge Exchange Network" not in browser.page_source
    # The demo's figures are not theirs: the week of the report shows nothing here.
    browser.get(f"{served.base}/dashboard/")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-week="{WEEK}"]')
    messages = row.find_element(By.CSS_SELECTOR, 'td[data-figure="messages"]').text
    assert messages == "0"
    # Their link is theirs only: the demo's coordinator link cannot be had with it.
    assert served.cli_fails("dashboard", "link", "--community", "demo", "--as", "console:zoe")
