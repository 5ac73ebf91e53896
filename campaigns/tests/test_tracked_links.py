"""Tracked links on a campaign page: UTM hygiene, channel check by the real rules, near
duplicates, QR codes, the short redirect, and what each link brought in."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from campaigns.models import TrackedLink
from campaigns.tests.factories import CampaignFactory, channel
from crm.tests.factories import DealFactory, lead_with_journey, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def search(db):
    return CampaignFactory(name="Spring search", utm_campaign="spring_search")


def post_link(client, campaign, **values):
    data = {"destination": "https://www.acme.example/offer?ref=x", "source": "google",
            "medium": "cpc", "content": "", "term": ""}  # fmt: skip
    data.update(values)
    return client.post(f"/campaigns/{campaign.pk}/", data)


def test_a_marketer_builds_a_tagged_link_in_lower_case(client, marketer, search):
    client.force_login(marketer)
    page = client.get(f"/campaigns/{search.pk}/")
    assert page.status_code == 200
    assert '<option value="cpc"' in page.text  # the controlled medium list of Paid Search

    response = post_link(client, search, source="Google", content="Banner-A", term="crm tool")
    assert response.status_code == 400  # a space in the term
    assert "no spaces: use “crm_tool”" in response.text
    response = post_link(client, search, source="Google", content="Banner-A", term="crm_tool")
    assert response.status_code == 302

    link = TrackedLink.objects.get()
    assert (link.source, link.medium, link.content, link.term) == (
        "google",
        "cpc",
        "banner-a",
        "crm_tool",
    )
    query = parse_qs(urlsplit(link.url).query)
    assert query == {
        "ref": ["x"], "utm_source": ["google"], "utm_medium": ["cpc"],
        "utm_campaign": ["spring_search"], "utm_content": ["banner-a"], "utm_term": ["crm_tool"],
    }  # fmt: skip
    page = client.get(f"/campaigns/{search.pk}/")
    assert link.url.replace("&", "&amp;") in page.text
    assert f"/campaigns/links/{link.pk}/qr.svg" in page.text
    assert post_link(client, search, source="google", content="banner-a", term="crm_tool")[
        "Location"
    ].endswith(f"#link-{link.pk}")
    assert TrackedLink.objects.count() == 1  # the same placement is the same link


def test_a_medium_of_another_channel_is_refused(client, marketer, search):
    client.force_login(marketer)
    response = post_link(client, search, medium="email")
    assert response.status_code == 400
    assert "not a medium of Paid Search" in response.text
    response = post_link(client, search, source="newsletter", medium="cpc")
    assert response.status_code == 400
    assert "would count as Paid Other, not Paid Search" in response.text
    assert not TrackedLink.objects.exists()


def test_a_link_that_lands_in_unassigned_is_refused(client, marketer):
    loose = CampaignFactory(channel=None, utm_campaign="loose")
    client.force_login(marketer)
    response = post_link(client, loose, source="someblog", medium="weird")
    assert response.status_code == 400
    assert "no channel (Unassigned)" in response.text


def test_the_preview_shows_the_channel_and_warns_of_near_duplicates(client, marketer):
    social = CampaignFactory(channel=channel("Paid Social"), utm_campaign="launch")
    lead_with_journey(touches=[{"channel_name": "Paid Social", "utm_source": "Facebook"}])
    client.force_login(marketer)
    preview = client.get(
        f"/campaigns/{social.pk}/links/preview/",
        {"destination": "https://acme.example/", "source": "facebook", "medium": "paid_social"},
    ).json()
    assert preview["ok"] is True
    assert preview["channel"] == "Paid Social"
    assert any("looks like “Facebook”" in w for w in preview["warnings"])
    typo = client.get(
        f"/campaigns/{social.pk}/links/preview/",
        {"destination": "https://acme.example/", "source": "face-book", "medium": "paid_social"},
    ).json()
    assert typo["ok"] is False  # not a known social site: the rules make it Paid Other
    assert typo["channel"] == "Paid Other"
    assert any("looks like “Facebook”" in w for w in typo["warnings"])
    bad = client.get(
        f"/campaigns/{social.pk}/links/preview/",
        {"destination": "ftp://x", "source": "facebook", "medium": "paid_social"},
    ).json()
    assert bad["ok"] is False
    assert "destination" in bad["errors"]


def test_qr_code_and_short_link(client, marketer, search):
    link = TrackedLink.objects.create(
        campaign=search, destination="https://acme.example/", source="google", medium="cpc"
    )
    client.force_login(marketer)
    qr = client.get(f"/campaigns/links/{link.pk}/qr.svg")
    assert qr.status_code == 200
    assert qr["Content-Type"] == "image/svg+xml"
    assert qr.content.lstrip().startswith(b"<svg")
    client.logout()
    short = client.get(f"/go/{link.short_code}/")
    assert short.status_code == 302
    assert short["Location"] == link.url
    assert client.get("/go/nope/").status_code == 404


def test_each_link_shows_its_visits_leads_and_revenue(
    client, marketer, search, django_assert_max_num_queries
):
    ads = TrackedLink.objects.create(
        campaign=search, destination="https://acme.example/", source="google", medium="cpc",
        content="ad-a",
    )  # fmt: skip
    other = TrackedLink.objects.create(
        campaign=search, destination="https://acme.example/", source="bing", medium="cpc"
    )
    tags = {"utm_source": "Google", "utm_medium": "cpc", "utm_campaign": "spring_search",
            "utm_content": "ad-a", "channel_name": "Paid Search"}  # fmt: skip
    buyer = lead_with_journey(touches=[tags, {**tags, "kind": "form_submit"}])
    lead_with_journey(touches=[tags])
    lead_with_journey(touches=[{**tags, "utm_content": "ad-b"}])  # another placement
    DealFactory(lead=buyer, amount=Decimal("2500.00"), stage=stage("won"))
    DealFactory(lead=buyer, amount=Decimal("999.00"))  # open: not revenue
    client.force_login(marketer)
    # Warm first: the process caches the rules, channels and UTM values the link checker uses,
    # so the count below does not depend on which test ran before.
    client.get(f"/campaigns/{search.pk}/")
    # session, user, roles, campaign; its performance figures (the model's latest run, weekly
    # spend, weekly qualified leads); links, their touches, their deals; landing pages; open
    # alerts in the nav.
    with django_assert_max_num_queries(12):
        page = client.get(f"/campaigns/{search.pk}/")
    rows = {row.link.pk: row for row in page.context["links"]}
    assert (rows[ads.pk].visits, rows[ads.pk].leads, rows[ads.pk].revenue) == (
        2,
        2,
        Decimal("2500.00"),
    )
    assert (rows[other.pk].visits, rows[other.pk].leads) == (0, 0)


def test_reps_cannot_build_links(client, rep, search):
    client.force_login(rep)
    assert client.get(f"/campaigns/{search.pk}/").status_code == 403


def test_in_development_suggested_landing_pages_and_the_embed_snippet_share_the_requests_host(
    client, marketer, admin, search, settings
):
    from leads.models import CaptureForm

    settings.CLM_PUBLIC_URL_SET = False  # CLM_PUBLIC_URL unset
    settings.ALLOWED_HOSTS = ["clm.dev.example"]
    form = CaptureForm.objects.create(name="Webinar", slug="webinar")
    client.force_login(marketer)
    page = client.get(f"/campaigns/{search.pk}/", HTTP_HOST="clm.dev.example").text
    assert '<option value="http://clm.dev.example/l/webinar/">' in page
    assert "127.0.0.1:8000" not in page
    client.force_login(admin)
    admin_page = client.get(
        f"/admin/leads/captureform/{form.pk}/change/", HTTP_HOST="clm.dev.example"
    ).text
    assert "http://clm.dev.example/static/clm/track.js" in admin_page


def test_a_configured_public_url_is_the_base_of_both(client, marketer, admin, search, settings):
    from leads.models import CaptureForm

    settings.CLM_PUBLIC_URL_SET, settings.CLM_PUBLIC_URL = True, "https://clm.acme.example"
    form = CaptureForm.objects.create(name="Webinar", slug="webinar")
    client.force_login(marketer)
    page = client.get(f"/campaigns/{search.pk}/").text
    assert '<option value="https://clm.acme.example/l/webinar/">' in page
    client.force_login(admin)
    admin_page = client.get(f"/admin/leads/captureform/{form.pk}/change/").text
    assert "https://clm.acme.example/static/clm/track.js" in admin_page
