"""Copy buttons, the danger style of Erase and the API docs' way back, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_rep_copies_a_new_token_and_finds_the_api_docs_in_the_user_box(
    page, login, screenshot, rep
):
    login("rep_a")
    page.goto("/accounts/tokens/")
    page.fill("input[name=name]", "zapier")
    page.click("form button[type=submit].primary")
    secret = page.locator("#token-secret").inner_text().strip()
    assert len(secret) > 20
    button = page.locator("button.copy[data-copy-from=token-secret]")
    button.click()
    expect(button).to_have_text(re.compile("^✓"))
    page.wait_for_function(
        "() => !document.querySelector('button.copy[data-copy-from=token-secret]')"
        ".textContent.startsWith('\\u2713')"
    )
    screenshot("token-copied")

    assert page.locator(".mainnav a", has_text="API docs").count() == 0
    page.click(".userbox a:has-text('API docs')")
    page.wait_for_url("**/api/docs/")
    assert page.locator("html").get_attribute("lang") == "en"
    page.click("text=Back to CLM")
    page.wait_for_url("**/crm/")
    assert page.console_errors == []


def test_choosing_erase_turns_the_button_red_and_names_the_action(page, login, admin):
    login("the_admin")
    page.goto("/setup/privacy/")
    submit = page.locator("#privacy-submit")
    assert submit.inner_text() == "Export their data"
    assert "primary" in submit.get_attribute("class")
    page.check("input[name=action][value=erase]")
    assert submit.inner_text() == "Erase this person"
    assert "danger" in submit.get_attribute("class")
    colour = submit.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(185, 28, 28)"  # --bad
    assert page.console_errors == []
