import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from clm import roles

LANDING = {
    roles.ADMIN: "attribution:marketing-dashboard",
    roles.MARKETER: "attribution:marketing-dashboard",
    roles.SALES_MANAGER: "crm:sales-dashboard",
    roles.SALES_REP: "crm:queue",
}
FORBIDDEN = {
    roles.MARKETER: "setup",
    roles.SALES_MANAGER: "campaigns:list",
    roles.SALES_REP: "attribution:marketing-dashboard",
}


def test_migrate_creates_the_four_role_groups_with_permissions(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ALL_ROLES)
    marketer = Group.objects.get(name=roles.MARKETER)
    assert marketer.permissions.filter(codename="add_group").exists() is False
    assert Group.objects.get(name=roles.ADMIN).permissions.filter(codename="add_user").exists()


@pytest.mark.parametrize("role", roles.ALL_ROLES)
def test_each_role_logs_in_and_lands_on_a_page_it_may_see(client, make_user, role):
    user = make_user(role)
    response = client.post(
        reverse("login"), {"username": user.username, "password": "pw-for-tests-123"}
    )
    assert response.status_code == 302
    home = client.get(response.url)
    assert home.status_code == 302
    assert home.url == reverse(LANDING[role])
    page = client.get(home.url)
    assert page.status_code == 200
    assert user.username.encode() in page.content or user.first_name.encode() in page.content


@pytest.mark.parametrize("role", list(FORBIDDEN))
def test_each_role_gets_403_on_a_page_it_may_not_open(client, make_user, role):
    client.force_login(make_user(role))
    response = client.get(reverse(FORBIDDEN[role]))
    assert response.status_code == 403
    assert b"Your role may not open this page" in response.content


def test_admin_opens_every_page_in_the_navigation(client, admin):
    client.force_login(admin)
    for _label, url_name, _allowed in roles.NAVIGATION:
        assert client.get(reverse(url_name)).status_code == 200, url_name
    assert client.get("/admin/").status_code == 200


def test_navigation_shows_only_what_the_role_may_open(client, rep):
    client.force_login(rep)
    page = client.get(reverse("crm:queue")).content.decode()
    assert f'href="{reverse("crm:queue")}"' in page
    assert f'href="{reverse("attribution:marketing-dashboard")}"' not in page
    assert f'href="{reverse("setup")}"' not in page


def test_anonymous_users_are_sent_to_login(client):
    response = client.get(reverse("crm:queue"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_user_without_a_role_is_told_so(client, django_user_model):
    user = django_user_model.objects.create_user("nobody", password="x-pw-123456")
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 403
    assert b"no CLM role" in response.content


def test_only_admins_reach_the_django_admin(client, marketer):
    client.force_login(marketer)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response.url


def test_role_permissions_are_synced_idempotently(db):
    before = Group.objects.get(name=roles.SALES_REP).permissions.count()
    roles.sync_role_permissions()
    assert Group.objects.get(name=roles.SALES_REP).permissions.count() == before
    assert Permission.objects.filter(group__name=roles.SALES_REP, codename="add_user").count() == 0


def test_password_change_page_works(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "pw-for-tests-123",
            "new_password1": "a-much-better-pw-42",
            "new_password2": "a-much-better-pw-42",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert rep.check_password("a-much-better-pw-42")
