"""The marketing dashboard pages through the test client: access, filters, CSV, escaping."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from attribution import services
from attribution.tests.factories import lead_with_journey, won_deal
from campaigns.models import Channel, Spend
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db

HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture
def data(django_capture_on_commit_callbacks, celery_eager):
    campaign = CampaignFactory(
        name=HOSTILE, utm_campaign="evil", channel=Channel.objects.get(name="Paid Search")
    )
    formula = CampaignFactory(
        name="=HYPERLINK(\"http://x\")", utm_campaign="formula",
        channel=Channel.objects.get(name="Email"),
    )  # fmt: skip
    today = timezone.localdate()
    Spend.objects.create(campaign=campaign, date=today - timedelta(days=3), amount=Decimal("50"))
    Spend.objects.create(campaign=formula, date=today - timedelta(days=3), amount=Decimal("5"))
    start = timezone.now() - timedelta(days=20)
    lead = lead_with_journey("a@x.io", ["Paid Search", "Email"], start=start)
    lead.touchpoints.filter(channel__name="Paid Search").update(campaign=campaign)
    lead.touchpoints.filter(channel__name="Email").update(campaign=formula)
    won_deal(lead, "400.00", days_after=5)
    with django_capture_on_commit_callbacks(execute=True):
        return services.run_create(partitions=1)


def test_marketers_and_managers_see_the_dashboard_reps_do_not(client, marketer, manager, rep):
    for user, code in ((marketer, 200), (manager, 200), (rep, 403)):
        client.force_login(user)
        assert client.get("/dashboards/marketing/").status_code == code


def test_hostile_names_are_escaped_in_tables_and_chart_data(client, marketer, data):
    client.force_login(marketer)
    page = client.get("/dashboards/marketing/", {"range": "30d"}).content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_chart_labels_are_escaped_for_plotly():
    import json

    from attribution import charts

    figure = json.dumps(charts.bars([HOSTILE], [1.0]))
    assert "<img" not in figure
    assert "&lt;img src=x onerror=alert(1)&gt;" in figure


def test_csv_export_neutralises_formula_cells(client, marketer, data):
    client.force_login(marketer)
    response = client.get("/dashboards/marketing/export/campaigns.csv", {"range": "30d"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    names = [r[0] for r in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in names
    assert HOSTILE in names  # CSV is data, not HTML: kept as typed, but not a formula
    roi = {r[0]: r[8] for r in rows[1:]}
    assert roi[HOSTILE] != "" and not roi[HOSTILE].startswith("'")


def test_filters_live_in_the_url_and_bad_values_are_reported(client, marketer, data):
    client.force_login(marketer)
    page = client.get("/dashboards/marketing/", {"range": "30d", "model": "markov"})
    assert page.context["filters"].model == "markov"
    assert page.context["filters"].days == 30
    bad = client.get("/dashboards/marketing/", {"start": "2026-13-01", "model": "astrology"})
    assert bad.status_code == 200
    assert "Dates must be YYYY-MM-DD" in bad.content.decode()
    assert bad.context["filters"].model == "linear"


def test_kpis_compare_with_the_previous_period(client, marketer, data):
    client.force_login(marketer)
    tiles = {
        t["key"]: t for t in client.get("/dashboards/marketing/", {"range": "30d"}).context["tiles"]
    }
    assert tiles["revenue"]["value"] == Decimal("400.00")
    assert tiles["spend"]["value"] == Decimal("55.00")
    assert tiles["roi"]["value"] == pytest.approx((400 - 55) / 55)
    assert tiles["revenue"]["change"] is None  # nothing before: no change to show


def test_drilldown_lists_the_deals_behind_a_channel_with_their_credit(client, marketer, data):
    client.force_login(marketer)
    channel = Channel.objects.get(name="Paid Search")
    page = client.get("/dashboards/marketing/deals/", {"range": "30d", "channel": channel.pk})
    deals = page.context["deals"]
    assert len(deals) == 1
    assert deals[0]["credit"] == Decimal("200.00")  # linear: half of 400
    assert "/crm/leads/" in page.content.decode()


def test_drilldown_respects_the_viewers_leads(client, rep, other_rep, data):
    # Reps do not reach the marketing pages at all.
    client.force_login(rep)
    assert client.get("/dashboards/marketing/deals/").status_code == 403


def test_status_reports_the_latest_run(client, manager, data):
    client.force_login(manager)
    body = client.get("/dashboards/status.json").json()
    assert body["latest_run"] == data.pk
    assert body["running"] is None


def test_an_expired_share_link_stops_working(client, admin, data):
    from attribution.models import ShareLink

    link, token = services.share_link_create(label="x", query="", days=1, created_by=admin)
    assert client.get(f"/dashboards/shared/{token}/").status_code == 200
    ShareLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get(f"/dashboards/shared/{token}/").status_code == 404
    with pytest.raises(ValueError):
        services.share_link_create(label="x", query="", days=999, created_by=admin)


def test_lead_quality_follows_the_period_and_channel_filters(client, marketer, rep):
    from crm.services import feedback_rate
    from crm.tests.factories import lead_with_journey as crm_lead

    now = timezone.now()
    rated = [  # (days ago captured, first-touch channel, rating)
        (5, "Email", "good"), (10, "Email", "good"), (12, "Paid Search", "good"),
        (60, "Email", "good"), (200, "Paid Search", "good"),
    ]  # fmt: skip
    for days, channel, rating in rated:
        lead = crm_lead(owner=rep, created_at=now - timedelta(days=days),
                        touches=[{"channel_name": channel}])  # fmt: skip
        feedback_rate(lead=lead, rating=rating, by=rep)
    client.force_login(marketer)

    def quality(**params):
        rows = client.get("/dashboards/marketing/", params).context["quality_rows"]
        return {r["channel"]: (r["leads"], r["good"]) for r in rows}

    assert quality(range="30d") == {"Email": (2, 2), "Paid Search": (1, 1)}
    assert quality(range="90d") == {"Email": (3, 3), "Paid Search": (1, 1)}
    email = Channel.objects.get(name="Email").pk
    assert quality(range="90d", channel=email) == {"Email": (3, 3)}
    assert quality(range="365d") == {"Email": (3, 3), "Paid Search": (2, 2)}
