"""The ROI report and runs API, through the HTTP interface."""

from datetime import date
from decimal import Decimal

import pytest

from attribution import services
from attribution.tests.factories import lead_with_journey, won_deal
from campaigns.models import Channel, Spend
from campaigns.tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished_run(django_capture_on_commit_callbacks, celery_eager):
    search = CampaignFactory(
        name="Search brand",
        utm_campaign="search_brand",
        channel=Channel.objects.get(name="Paid Search"),
    )
    Spend.objects.create(campaign=search, date=date(2026, 6, 1), amount=Decimal("200.00"))
    lead = lead_with_journey("a@x.io", ["Paid Search", "Email"])
    lead.touchpoints.filter(channel__name="Paid Search").update(campaign=search)
    won_deal(lead, "1000.00")
    lead_with_journey("b@x.io", ["Paid Search"])
    with django_capture_on_commit_callbacks(execute=True):
        return services.run_create(models=["linear", "first_touch"], partitions=2)


def test_roi_by_channel_joins_spend_with_credited_outcomes(client, marketer, finished_run):
    client.force_login(marketer)
    body = client.get("/api/v1/reports/roi/", {"model": "linear"}).json()
    assert body["run"] == finished_run.pk
    rows = {r["name"]: r for r in body["rows"]}
    search = rows["Paid Search"]
    # linear: lead a (2 touches) gives 0.5 lead, lead b 1 lead; the deal gives 0.5 of 1000.
    assert search["leads"] == 1.5
    assert search["deals"] == 0.5
    assert search["revenue"] == "500.00"
    assert search["spend"] == "200.00"
    assert search["roi"] == 1.5  # (500 - 200) / 200
    assert search["roas"] == 2.5
    assert search["cost_per_lead"] == "133.33"
    assert search["cac"] == "400.00"
    assert rows["Email"]["revenue"] == "500.00"
    assert rows["Email"]["roi"] is None  # no spend, no ROI


def test_roi_by_campaign_and_model_choice(client, marketer, finished_run):
    client.force_login(marketer)
    body = client.get(
        "/api/v1/reports/roi/", {"model": "first_touch", "group_by": "campaign"}
    ).json()
    named = {r["name"]: r for r in body["rows"]}
    brand = named["Search brand"]
    assert (brand["channel"], brand["revenue"], brand["leads"], brand["spend"]) == (
        "Paid Search",
        "1000.00",
        1.0,
        "200.00",
    )
    assert brand["roi"] == 4.0  # (1000 - 200) / 200
    assert named["(no campaign)"]["leads"] == 1.0  # lead b's touch had no campaign


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"model": "nope"}, "model"),
        ({"group_by": "planet"}, "group_by"),
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-06-10", "end": "2026-06-01"}, "end"),
    ],
)
def test_bad_report_queries_are_400_with_the_field(client, marketer, query, field):
    client.force_login(marketer)
    response = client.get("/api/v1/reports/roi/", query)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_reps_may_not_read_roi_and_anonymous_users_are_refused(client, rep):
    assert client.get("/api/v1/reports/roi/").status_code in (401, 403)
    client.force_login(rep)
    assert client.get("/api/v1/reports/roi/").status_code == 403


def test_marketers_start_a_run_and_watch_it(
    client, marketer, finished_run, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/attribution/runs/", {"models": ["linear"]}, content_type="application/json"
        )
    assert response.status_code == 202
    run_id = response.json()["id"]
    detail = client.get(f"/api/v1/attribution/runs/{run_id}/").json()
    assert detail["status"] == "done"
    assert detail["progress"]["percent"] == 100
    bad = client.post(
        "/api/v1/attribution/runs/", {"models": ["astrology"]}, content_type="application/json"
    )
    assert bad.status_code == 400


def test_managers_read_but_may_not_start_runs(client, manager):
    client.force_login(manager)
    assert client.get("/api/v1/attribution/runs/").status_code == 200
    assert client.post("/api/v1/attribution/runs/", {}).status_code == 403


def test_admins_share_a_read_only_view_that_expires_and_can_be_revoked(client, admin, finished_run):
    from django.test import Client

    from attribution.models import ShareLink
    from attribution.services import share_link_revoke

    client.force_login(admin)
    response = client.post(
        "/dashboards/share/", {"label": "Board", "query": "range=365d&model=linear", "days": "7"}
    )
    assert response.status_code == 302
    message = next(m.message for m in response.wsgi_request._messages)
    url = message.rsplit(" ", 1)[-1]
    path = url.split("testserver", 1)[1]
    outsider = Client()
    page = outsider.get(path)
    assert page.status_code == 200
    body = page.content.decode()
    assert "Board" in body and "fig-roi" in body
    assert "/dashboards/marketing/deals/" not in body  # no drill-down to people
    assert outsider.get(path.replace("/shared/", "/shared/x")).status_code == 404
    share_link_revoke(link=ShareLink.objects.get())
    assert outsider.get(path).status_code == 404


def _share(client, admin) -> str:
    client.force_login(admin)
    response = client.post("/dashboards/share/", {"label": "Board", "days": "7"})
    message = next(m.message for m in response.wsgi_request._messages)
    client.logout()
    return message.rsplit(" ", 1)[-1].split("testserver", 1)[1]


def test_a_share_link_stops_working_when_its_maker_is_deactivated(client, admin, finished_run):
    path = _share(client, admin)
    assert client.get(path).status_code == 200
    admin.is_active = False
    admin.save()
    page = client.get(path)
    assert page.status_code == 410
    assert "no longer works" in page.content.decode()
    assert "fig-roi" not in page.content.decode()
    admin.is_active = True
    admin.save()
    assert client.get(path).status_code == 200


def test_a_share_link_stops_working_when_its_maker_loses_the_role_that_sees_the_page(
    client, admin, finished_run
):
    from django.contrib.auth.models import Group

    from clm import roles

    path = _share(client, admin)
    admin.groups.set([Group.objects.get(name=roles.SALES_REP)])
    admin.is_superuser = False
    admin.save()
    assert client.get(path).status_code == 410
    admin.groups.set([Group.objects.get(name=roles.MARKETER)])  # marketers see the page
    assert client.get(path).status_code == 200


def test_a_share_link_whose_maker_was_deleted_stops_working(client, admin, finished_run):
    path = _share(client, admin)
    admin.delete()
    assert client.get(path).status_code == 410


def test_share_links_are_for_admins_only(client, marketer):
    client.force_login(marketer)
    assert client.post("/dashboards/share/", {"label": "x", "days": "7"}).status_code == 403


def test_a_run_queued_or_running_refuses_another_from_the_api_with_409(client, marketer):
    from attribution.models import AttributionRun

    client.force_login(marketer)
    answers = [
        client.post(
            "/api/v1/attribution/runs/", {"models": ["linear"]}, content_type="application/json"
        )
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [202, 409, 409, 409, 409]
    queued = answers[0].json()["id"]
    body = answers[1].json()
    assert body["code"] == "conflict"
    assert set(body["errors"]) == {"__all__"}
    assert f"#{queued}" in body["errors"]["__all__"][0]
    assert AttributionRun.objects.count() == 1

    AttributionRun.objects.filter(pk=queued).update(status=AttributionRun.Status.RUNNING)
    assert client.post("/api/v1/attribution/runs/", {}).status_code == 409
    AttributionRun.objects.filter(pk=queued).update(status=AttributionRun.Status.FAILED)
    assert client.post("/api/v1/attribution/runs/", {}).status_code == 202


def test_the_dashboard_button_and_the_command_follow_the_same_rule(client, marketer):
    from django.core.management import CommandError, call_command

    from attribution.models import AttributionRun

    running = services.run_create(start=False)
    AttributionRun.objects.filter(pk=running.pk).update(status=AttributionRun.Status.RUNNING)
    client.force_login(marketer)
    response = client.post("/dashboards/runs/start/", follow=True)
    assert "A run is in progress already" in response.content.decode()
    with pytest.raises(CommandError, match=f"#{running.pk} is running"):
        call_command("run_attribution", "--no-wait")
    assert AttributionRun.objects.count() == 1
    with pytest.raises(services.RunInProgress):
        services.run_start(created_by=marketer)


def test_a_run_abandoned_for_longer_than_any_run_takes_does_not_block_the_next(marketer):
    from datetime import timedelta

    from django.utils import timezone

    from attribution.models import AttributionRun

    lost = services.run_create(start=False)
    AttributionRun.objects.filter(pk=lost.pk).update(
        status=AttributionRun.Status.RUNNING,
        created_at=timezone.now() - timedelta(seconds=services.LOCK_SECONDS + 60),
    )
    fresh = services.run_start(created_by=marketer, start=False)

    lost.refresh_from_db()
    assert lost.status == AttributionRun.Status.FAILED
    assert "Abandoned" in lost.error
    assert fresh.status == AttributionRun.Status.QUEUED
    with pytest.raises(services.RunInProgress):
        services.run_start(created_by=marketer, start=False)
