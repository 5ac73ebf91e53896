"""Small things users notice: copy buttons, the API docs' place, danger styles, flat deltas."""

from datetime import date
from types import SimpleNamespace

import pytest
from django.urls import reverse

from attribution import dashboards as marketing_tiles
from clm.templatetags.clm_format import trailing_url
from crm import dashboards as sales_tiles

pytestmark = pytest.mark.django_db


def test_trailing_url_is_the_address_a_message_ends_with():
    assert trailing_url("Share link for “x”: https://clm.example/s/abc/") == (
        "https://clm.example/s/abc/"
    )
    assert trailing_url("Saved.") == ""
    assert trailing_url("") == ""
    assert trailing_url("javascript:alert(1)") == ""


def test_a_new_share_link_comes_with_a_copy_button(client, admin):
    client.force_login(admin)
    response = client.post(
        reverse("attribution:share"), {"label": "Board", "days": "7"}, follow=True
    )
    page = response.content.decode()
    message = next(iter(response.context["messages"]))
    url = str(message).rsplit(" ", 1)[-1]
    assert url.startswith("http://testserver/dashboards/shared/")
    assert f'<button type="button" class="copy" data-copy="{url}">Copy link</button>' in page


def test_a_new_api_token_comes_with_a_copy_button(client, rep):
    client.force_login(rep)
    page = client.post(reverse("integrations:tokens"), {"name": "zapier"}, follow=True)
    body = page.content.decode()
    assert 'id="token-secret"' in body
    assert 'data-copy-from="token-secret"' in body


def test_api_docs_are_in_the_user_box_not_the_main_navigation(client, rep):
    client.force_login(rep)
    response = client.get(reverse("crm:queue"))
    labels = [str(item["label"]) for item in response.context["nav_items"]]
    assert "API docs" not in labels
    assert f'<a href="{reverse("api-docs")}">API docs</a>' in response.content.decode()


def test_the_swagger_page_has_a_language_and_a_way_back(client, rep):
    client.force_login(rep)
    page = client.get(reverse("api-docs"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in page
    assert f'<a href="{reverse("home")}">← Back to CLM</a>' in page
    assert "<main>" in page


def test_erase_is_offered_in_the_danger_style(client, admin):
    client.force_login(admin)
    page = client.get(reverse("privacy")).content.decode()
    assert 'data-action-button="privacy-submit"' in page
    assert 'value="erase" data-danger data-button-label="Erase this person"' in page
    refused = client.post(reverse("privacy"), {"email": "a@x.io", "action": "erase"})
    assert 'class="danger" id="privacy-submit"' in refused.content.decode()


def test_revoking_a_token_asks_first_naming_it(client, rep):
    client.force_login(rep)
    client.post(reverse("integrations:tokens"), {"name": "zapier"})
    page = client.get(reverse("integrations:tokens")).content.decode()
    assert "Revoke the token “zapier”? Every integration using it stops working at once." in page


@pytest.mark.parametrize(
    ("now", "before", "good"),
    [(100, 100, None), (1002, 1000, None), (110, 100, False), (90, 100, True)],
)
def test_a_change_that_shows_as_zero_percent_is_neither_good_nor_bad(now, before, good):
    # Cost per lead: a fall is good news; a flat figure is no news at all.
    tile = sales_tiles._tile("Cost", "cost", "money", now, before, rise_is_good=False)
    assert tile["good"] is good


def test_the_marketing_tiles_treat_a_flat_change_as_no_news(monkeypatch):
    figures = {"spend": 5, "leads": 10, "pipeline": 1, "revenue": 1, "roi": 1.0, "roas": 1.0}
    now = SimpleNamespace(**figures, cost_per_lead=50.2, cac=80)
    before = SimpleNamespace(**figures, cost_per_lead=50.0, cac=100)
    monkeypatch.setattr(
        marketing_tiles, "totals", lambda run, f, start, end: now if start else before
    )
    f = SimpleNamespace(start=date(2026, 6, 1), end=date(2026, 6, 30), previous=(None, None))
    tiles = {t["key"]: t for t in marketing_tiles.kpi_tiles(None, f)}
    assert tiles["leads"]["change"] == 0 and tiles["leads"]["good"] is None
    assert tiles["cost_per_lead"]["good"] is None  # +0.4% shows as +0%
    assert tiles["cac"]["good"] is True  # -20%
