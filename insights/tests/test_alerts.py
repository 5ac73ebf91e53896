"""Alerts: found, listed on the dashboards, emailed once to the users who asked for them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from attribution.models import AttributionResult, AttributionRun, RunPartition
from attribution.services import summary_write
from campaigns.models import Channel, Spend
from campaigns.tests.factories import CampaignFactory
from crm import services as crm_services
from crm.tests.factories import lead_with_journey
from insights.alerts import alert_publish, alert_subscribe, alerts_check_rank_flips
from insights.models import Alert, AlertDelivery
from insights.tasks import insights_check_alerts

pytestmark = pytest.mark.django_db


def waiting_lead(owner, *, hours: float, **fields):
    return lead_with_journey(
        owner=owner, created_at=timezone.now() - timedelta(hours=hours), **fields
    )


def test_a_lead_waiting_past_the_sla_is_emailed_once_to_subscribers(
    client, manager, rep, settings, django_capture_on_commit_callbacks
):
    settings.CLM_CONTACT_SLA_HOURS = 24
    manager.email = "sam@example.com"
    manager.save()
    alert_subscribe(user=manager, kinds=["contact_sla"])
    late = waiting_lead(rep, hours=30, first_name="Grace", last_name="Hopper")
    waiting_lead(rep, hours=3)  # still within the SLA
    with django_capture_on_commit_callbacks(execute=True):
        assert insights_check_alerts() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert insights_check_alerts() == 0  # the same breach is not raised again
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["sam@example.com"]
    assert "Grace Hopper has waited 30 h" in message.subject
    assert f"/crm/leads/{late.pk}/" in message.body
    # Publishing again (a retry) sends nothing new.
    assert alert_publish(Alert.objects.get()) == 0
    assert AlertDelivery.objects.count() == 1

    client.force_login(manager)
    page = client.get(reverse("crm:sales-dashboard")).content.decode()
    assert 'id="sla-alerts"' in page and "Grace Hopper has waited 30 h" in page

    # Contacting the lead ends the alert.
    crm_services.activity_log(lead=late, kind="call", by=rep, outcome="connected")
    insights_check_alerts()
    assert Alert.objects.get().resolved_at is not None
    page = client.get(reverse("crm:sales-dashboard")).content.decode()
    assert "No lead waits past the SLA" in page


def test_an_alert_about_a_lead_named_with_a_line_break_is_emailed_with_a_clean_subject(
    manager, rep, settings, django_capture_on_commit_callbacks
):
    settings.CLM_CONTACT_SLA_HOURS = 24
    manager.email = "sam@example.com"
    manager.save()
    alert_subscribe(user=manager, kinds=["contact_sla"])
    waiting_lead(rep, hours=30, first_name="A\r\nBcc: x@y", last_name="")
    with django_capture_on_commit_callbacks(execute=True):
        assert insights_check_alerts() == 1
    assert [m.to for m in mail.outbox] == [["sam@example.com"]]
    message = mail.outbox[0]
    assert "\n" not in message.subject and "\r" not in message.subject
    assert "A Bcc: x@y has waited 30 h" in message.subject
    assert message.message()["Bcc"] is None
    assert AlertDelivery.objects.count() == 1


def test_a_rep_is_emailed_about_their_own_leads_only(
    rep, other_rep, django_capture_on_commit_callbacks
):
    for user, address in ((rep, "a@example.com"), (other_rep, "b@example.com")):
        user.email = address
        user.save()
        alert_subscribe(user=user, kinds=["contact_sla"])
    waiting_lead(rep, hours=48)
    with django_capture_on_commit_callbacks(execute=True):
        insights_check_alerts()
    assert [m.to for m in mail.outbox] == [["a@example.com"]]


def test_users_without_a_subscription_get_no_email(rep, django_capture_on_commit_callbacks):
    rep.email = "a@example.com"
    rep.save()
    waiting_lead(rep, hours=48)
    with django_capture_on_commit_callbacks(execute=True):
        insights_check_alerts()
    assert Alert.objects.count() == 1 and mail.outbox == []


def run_with_revenue(by_model: dict[str, dict[str, int]]) -> AttributionRun:
    """A finished run whose won-deal revenue per model and channel is given (in units)."""
    run = AttributionRun.objects.create(
        model_names=list(by_model), data_cutoff=timezone.now(), status="done",
        finished_at=timezone.now(),
    )  # fmt: skip
    part = RunPartition.objects.create(run=run, index=0, lead_id_from=0)
    for model, channels in by_model.items():
        for name, revenue in channels.items():
            AttributionResult.objects.create(
                run=run, partition=part, model=model, milestone="deal",
                channel=Channel.objects.get(name=name), day=date.today() - timedelta(days=3),
                conversions=1.0, value_cents=revenue * 100,
            )  # fmt: skip
    summary_write(run=run)  # as run_finish does: what dashboards and alerts read
    return run


def test_a_channel_whose_rank_flips_between_models_is_an_alert_on_the_marketing_dashboard(
    client, marketer
):
    others = {"Email": 300, "Organic Search": 250, "Referral": 200}
    run = run_with_revenue(
        {
            "first_touch": {"Paid Social": 900, **others},
            "last_touch": {"Paid Social": 150, **others},
        }
    )
    assert alerts_check_rank_flips(run=run) == 1
    alert = Alert.objects.get(kind="rank_flip")
    assert alert.title == "Paid Social ranks #1 under First touch but #4 under Last touch"
    client.force_login(marketer)
    page = client.get(reverse("attribution:marketing-dashboard")).content.decode()
    assert 'id="marketing-alerts"' in page and alert.title in page
    # Once the models agree again, the alert is resolved and leaves the dashboard.
    agreeing = run_with_revenue(
        {
            "first_touch": {"Paid Social": 900, **others},
            "last_touch": {"Paid Social": 800, **others},
        }
    )
    assert alerts_check_rank_flips(run=agreeing) == 0
    assert Alert.objects.get(kind="rank_flip").resolved_at is not None


def test_a_campaign_whose_cost_per_lead_rose_is_flagged(settings):
    settings.CLM_DRIFT_RECENT_DAYS, settings.CLM_DRIFT_BASELINE_DAYS = 14, 56
    campaign = CampaignFactory(name="Spring Sale")
    today = timezone.now()
    for day in range(70):
        # 100 a day throughout; leads: 2 a day in the baseline, 1 a day lately.
        Spend.objects.create(
            campaign=campaign, date=(today - timedelta(days=day)).date(), amount=Decimal(100)
        )
        for extra in range(2 if day >= 14 else 1):
            lead_with_journey(
                created_at=today - timedelta(days=day, hours=1 + extra),
                touches=[{"channel_name": "Paid Search", "campaign": campaign,
                          "occurred_at": today - timedelta(days=day, hours=3)}],
            )  # fmt: skip
    insights_check_alerts()
    alert = Alert.objects.get(kind="cpl_drift")
    assert alert.title.startswith("Spring Sale: cost per lead up")
    assert alert.data["baseline"] == pytest.approx(50, rel=0.1)
    assert alert.data["recent"] == pytest.approx(100, rel=0.1)


def test_users_choose_their_alert_emails_and_bad_kinds_are_refused(client, manager):
    client.force_login(manager)
    response = client.post(reverse("insights:alerts"), {"kinds": ["contact_sla", "rank_flip"]})
    assert response.status_code == 302
    page = client.get(reverse("insights:alerts")).content.decode()
    assert 'value="contact_sla" checked' in page and 'value="cpl_drift" checked' not in page
    response = client.post(reverse("insights:alerts"), {"kinds": ["contact_sla", "bogus"]})
    assert response.status_code == 400
    assert "unknown alert kind(s): bogus" in response.content.decode()
    assert manager.alert_subscription.kinds == ["contact_sla", "rank_flip"]


# --- Who sees which alert ------------------------------------------------------------------


def marketing_alerts() -> list[Alert]:
    now = timezone.now()
    return [
        Alert.objects.create(kind=kind, key="k", title=f"{kind} about Spring Sale", created_at=now)
        for kind in ("rank_flip", "cpl_drift", "quality_drift")
    ]


def test_a_rep_sees_contact_alerts_of_their_own_leads_and_no_marketing_alerts(
    client, rep, other_rep, manager, marketer
):
    mine = waiting_lead(rep, hours=30, first_name="Ada", last_name="Mine")
    theirs = waiting_lead(other_rep, hours=30, first_name="Bob", last_name="Theirs")
    insights_check_alerts()
    marketing_alerts()
    client.force_login(rep)
    page = client.get(reverse("insights:alerts")).content.decode()
    assert "Ada Mine has waited" in page and f"/crm/leads/{mine.pk}/" in page
    assert "Bob Theirs" not in page and f"/crm/leads/{theirs.pk}/" not in page
    assert "about Spring Sale" not in page
    # Every link on the page opens.
    assert client.get(f"/crm/leads/{mine.pk}/").status_code == 200
    # The rep is offered only the kinds they may get.
    assert 'value="contact_sla"' in page
    for kind in ("rank_flip", "cpl_drift", "quality_drift"):
        assert f'value="{kind}"' not in page

    for viewer in (manager, marketer):
        client.force_login(viewer)
        page = client.get(reverse("insights:alerts")).content.decode()
        assert "Ada Mine" in page and "Bob Theirs" in page
        assert page.count("about Spring Sale") == 3


def test_a_lead_reassigned_to_another_rep_takes_its_alert_along(client, rep, other_rep):
    lead = waiting_lead(rep, hours=30, first_name="Ada", last_name="Moving")
    insights_check_alerts()
    lead.owner = other_rep
    lead.save(update_fields=["owner"])
    client.force_login(rep)
    assert "Ada Moving" not in client.get(reverse("insights:alerts")).content.decode()
    client.force_login(other_rep)
    assert "Ada Moving" in client.get(reverse("insights:alerts")).content.decode()


def test_a_rep_may_not_subscribe_to_marketing_alerts(client, rep):
    client.force_login(rep)
    response = client.post(reverse("insights:alerts"), {"kinds": ["contact_sla", "cpl_drift"]})
    assert response.status_code == 403
    assert "Campaign cost per lead drifted up" in response.content.decode()
    from insights.models import AlertSubscription

    assert not AlertSubscription.objects.filter(user=rep).exists()
    response = client.post(reverse("insights:alerts"), {"kinds": ["contact_sla"]})
    assert response.status_code == 302
    assert AlertSubscription.objects.get(user=rep).kinds == ["contact_sla"]


def test_marketing_alerts_are_emailed_only_to_roles_that_may_see_them(
    rep, marketer, django_capture_on_commit_callbacks
):
    from insights.models import AlertSubscription

    for user, address in ((rep, "rep@example.com"), (marketer, "mk@example.com")):
        user.email = address
        user.save()
        # A subscription made before the rule (or written behind the service's back).
        AlertSubscription.objects.create(user=user, kinds=["cpl_drift", "contact_sla"])
    for alert in marketing_alerts():
        alert_publish(alert)
    assert {tuple(m.to) for m in mail.outbox} == {("mk@example.com",)}
    assert len(mail.outbox) == 1  # cpl_drift only: the marketer chose no other kind
    assert not AlertDelivery.objects.filter(user=rep).exists()
