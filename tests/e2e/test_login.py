import pytest

from clm import roles

LANDING_HEADINGS = {
    roles.ADMIN: "Marketing dashboard",
    roles.MARKETER: "Marketing dashboard",
    roles.SALES_MANAGER: "Sales dashboard",
    roles.SALES_REP: "Leads",
}


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_each_role_logs_in_through_the_form_and_sees_its_start_page(
    page, login, screenshot, make_user, role
):
    user = make_user(role)
    login(user.username)
    assert page.locator("h1").first.inner_text() == LANDING_HEADINGS[role]
    assert page.locator(".userbox .role").first.inner_text() == role
    screenshot(f"login-{role.lower().replace(' ', '-')}")
    assert page.console_errors == []


def test_a_wrong_password_shows_an_error_and_stays_on_the_login_page(page, login, rep):
    login(rep.username, password="wrong-password")
    assert "/accounts/login/" in page.url
    assert page.locator("[role=alert]").is_visible()
