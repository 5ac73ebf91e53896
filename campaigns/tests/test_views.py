import pytest
from django.urls import reverse

from campaigns.models import Campaign, Channel, Spend
from campaigns.tests.factories import CampaignFactory
from leads.tests.factories import TouchpointFactory

pytestmark = pytest.mark.django_db


def test_marketer_creates_a_campaign_through_the_form(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("campaigns:create"),
        {
            "name": "Spring Sale",
            "channel": Channel.objects.get(name="Paid Search").pk,
            "utm_campaign": "Spring",
            "start_date": "2026-03-01",
            "end_date": "2026-03-31",
            "budget": "5000",
            "status": "active",
        },
    )
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert (campaign.utm_campaign, str(campaign.budget)) == ("spring", "5000.00")
    listing = client.get(reverse("campaigns:list")).content.decode()
    assert "Spring Sale" in listing


def test_the_campaign_form_reports_bad_input_per_field(client, marketer):
    client.force_login(marketer)
    CampaignFactory(utm_campaign="spring")
    response = client.post(
        reverse("campaigns:create"),
        {
            "name": "",
            "utm_campaign": "SPRING",
            "start_date": "2026-03-10",
            "end_date": "2026-03-01",
            "budget": "-1",
            "status": "active",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "This field is required" in page
    assert "greater than or equal to 0" in page
    assert "end date is before the start date" in page or "UTM values exists" in page
    assert Campaign.objects.count() == 1


def test_campaign_pages_are_for_admins_and_marketers_only(client, rep, manager):
    for user in (rep, manager):
        client.force_login(user)
        assert client.get(reverse("campaigns:list")).status_code == 403
        assert client.get(reverse("campaigns:spend-upload")).status_code == 403
        assert client.post(reverse("campaigns:register"), {"utm_campaign": "x"}).status_code == 403


def test_upload_page_imports_a_file_and_reports_a_bad_one(client, marketer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    CampaignFactory(utm_campaign="spring")
    client.force_login(marketer)
    good = SimpleUploadedFile("s.csv", b"date,campaign,cost\n2026-03-01,spring,10\n")
    response = client.post(reverse("campaigns:spend-upload"), {"file": good})
    assert response.status_code == 200
    assert "1 created" in response.content.decode()
    bad = SimpleUploadedFile("s.csv", b"date,campaign,cost\n2026-03-02,spring,x\n")
    response = client.post(reverse("campaigns:spend-upload"), {"file": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert "nothing was imported" in page
    assert "cost &#x27;x&#x27; is not a number" in page
    assert Spend.objects.count() == 1


def test_register_button_turns_an_untracked_campaign_into_a_campaign(client, marketer):
    TouchpointFactory(utm_campaign="webinar_q3", channel_name="Email")
    client.force_login(marketer)
    page = client.get(reverse("campaigns:list")).content.decode()
    assert "webinar_q3" in page
    response = client.post(reverse("campaigns:register"), {"utm_campaign": "webinar_q3"})
    assert response.status_code == 302
    assert Campaign.objects.get().channel.name == "Email"


def test_bench_shows_the_channel_and_the_rule_that_matched(client, admin):
    client.force_login(admin)
    response = client.get(
        reverse("campaigns:rule-bench"),
        {"landing_url": "https://shop.example.com/?utm_source=google&utm_medium=cpc"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert '<strong id="matched-channel">Paid Search</strong>' in page
    assert "medium regex" in page
    assert 'id="bench-continues"' not in page


def test_bench_says_a_self_referral_continues_the_touch_before_it(client, admin):
    client.force_login(admin)
    response = client.get(
        reverse("campaigns:rule-bench"),
        {
            "landing_url": "https://shop.example.com/pricing",
            "referrer": "https://shop.example.com/",
        },
    )
    assert 'id="bench-continues"' in response.content.decode()


def test_bench_dry_run_without_a_candidate_counts_nothing_on_captured_visits(client, admin):
    from leads.services import RequestMeta
    from leads.touches import page_views_record

    page_views_record(
        events=[
            {
                "visitor_id": "v1",
                "url": "https://shop.example.com/?utm_source=google&utm_medium=cpc",
            },
            {
                "visitor_id": "v1",
                "url": "https://shop.example.com/b",
                "referrer": "https://shop.example.com/",
            },
        ],
        meta=RequestMeta(),
    )
    client.force_login(admin)
    response = client.post(reverse("campaigns:rule-bench"), {"action": "dry-run"})
    assert '<strong id="dry-run-changed">0</strong>' in response.content.decode()


def test_bench_dry_run_counts_changes_for_a_candidate_rule(client, admin):
    TouchpointFactory(utm_source="partnerhub", channel_name="Unassigned")
    TouchpointFactory(channel_name="Direct")
    client.force_login(admin)
    response = client.post(
        reverse("campaigns:rule-bench"),
        {
            "action": "dry-run",
            "candidate_channel": "Affiliates",
            "candidate_position": "5",
            "candidate_conditions": '[{"field": "source", "op": "exact", "value": "partnerhub"}]',
        },
    )
    page = response.content.decode()
    assert '<strong id="dry-run-changed">1</strong>' in page
    assert "Unassigned" in page and "Affiliates" in page
    response = client.post(
        reverse("campaigns:rule-bench"),
        {"action": "dry-run", "candidate_channel": "Affiliates", "candidate_conditions": "[{"},
    )
    assert "candidate rule" in response.content.decode()


def test_bench_is_for_admins_only(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("campaigns:rule-bench")).status_code == 403


def test_reclassify_from_the_bench_reports_progress(client, admin):
    TouchpointFactory(referrer="https://www.bing.com/", channel_name="Direct")
    client.force_login(admin)
    response = client.post(reverse("campaigns:reclassify"), {"confirm": "RECLASSIFY"})
    assert response.status_code == 302
    from campaigns.models import ReclassifyJob

    job = ReclassifyJob.objects.get()
    status = client.get(reverse("campaigns:reclassify-status", args=[job.pk])).json()
    assert status["status"] in {"queued", "done"}
