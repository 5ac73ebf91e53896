"""Alerts people act on: dismiss, snooze, assign; merged alerts; the count in the nav; reruns
that change nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from clm.models import UserPreference
from crm.tests.factories import lead_with_journey
from insights import engine, selectors
from insights.alerts import alert_assign, alert_dismiss, alerts_check_rank_flips
from insights.models import Alert
from insights.selectors import open_alert_count
from insights.tasks import insights_check_alerts
from insights.tests.test_alerts import run_with_revenue

pytestmark = pytest.mark.django_db

OTHERS = {"Email": 300, "Organic Search": 250, "Referral": 200}


def flipping_run(extra_flips: bool = False):
    first = {"Paid Social": 900, "Paid Search": 850, **OTHERS}
    last = {"Paid Social": 150, "Paid Search": 100, **OTHERS}
    if extra_flips:
        first, last = {**first, "Display": 10}, {**last, "Display": 990}
    return run_with_revenue({"first_touch": first, "last_touch": last})


def nav_count(client) -> int | None:
    page = client.get(reverse("crm:queue")).content.decode()
    found = re.search(r'id="nav-alert-count"[^>]*>(\d+)<', page)
    return int(found.group(1)) if found else None


def test_rank_flips_of_many_channels_are_one_alert_that_keeps_every_channel(client, marketer):
    run = flipping_run()
    start, end = selectors.window(run.data_cutoff, settings.CLM_INSIGHTS_WINDOW_DAYS)
    flips = engine.rank_flips(selectors.revenue_by_model(run=run, start=start, end=end))
    assert len(flips) == 5  # the two that fell and the three that rose
    assert alerts_check_rank_flips(run=run) == 1
    alert = Alert.objects.get(kind="rank_flip", resolved_at__isnull=True)
    items = {item["channel"]: item for item in alert.data["items"]}
    assert set(items) == set(flips["channel"])  # every underlying item is kept
    for r in flips.itertuples():
        assert (items[r.channel]["best_rank"], items[r.channel]["worst_rank"]) == (
            r.best_rank,
            r.worst_rank,
        )
    assert alert.title == "5 channels rank differently between attribution models"
    client.force_login(marketer)
    page = client.get(reverse("insights:alerts")).content.decode()
    assert page.count('id="alert-') == 1
    assert "5 channels rank differently between attribution models" in page
    assert "Paid Social ranks #1 under First touch but #4 under Last touch" in page
    assert "Paid Search ranks #2 under First touch but #5 under Last touch" in page
    assert "Email ranks #1 under Last touch but #3 under First touch" in page
    dashboard = client.get(reverse("attribution:marketing-dashboard")).content.decode()
    assert "Paid Search ranks #2 under First touch" in dashboard


def test_rerunning_alert_checks_on_unchanged_data_changes_nothing_and_keeps_dismissals(
    marketer, manager, rep, settings
):
    settings.CLM_CONTACT_SLA_HOURS = 24
    lead_with_journey(owner=rep, created_at=timezone.now() - timedelta(hours=30))
    assert insights_check_alerts() == 1
    assert alerts_check_rank_flips(run=flipping_run()) == 1
    for alert in Alert.objects.all():
        alert_dismiss(alert=alert, by=manager)
    before = list(Alert.objects.order_by("pk").values())

    assert insights_check_alerts() == 0
    assert alerts_check_rank_flips(run=flipping_run()) == 0  # a new run, the same flips
    assert list(Alert.objects.order_by("pk").values()) == before  # not a field changed
    assert open_alert_count(manager) == 0

    # A channel that starts flipping is news: the merged alert comes back with it.
    assert alerts_check_rank_flips(run=flipping_run(extra_flips=True)) == 0
    alert = Alert.objects.get(kind="rank_flip", resolved_at__isnull=True)
    assert alert.dismissed_at is None
    assert "Display" in [i["channel"] for i in alert.data["items"]]


def test_dismiss_snooze_and_assign_change_the_nav_count_of_the_viewer(
    client, marketer, manager, rep, other_rep, settings
):
    settings.CLM_CONTACT_SLA_HOURS = 24
    lead_with_journey(owner=rep, created_at=timezone.now() - timedelta(hours=30))
    lead_with_journey(owner=other_rep, created_at=timezone.now() - timedelta(hours=30))
    insights_check_alerts()
    alerts_check_rank_flips(run=flipping_run())
    client.force_login(rep)
    assert nav_count(client) == 1  # their own lead's only; no marketing alert
    client.force_login(marketer)
    assert nav_count(client) == 3  # two leads and the merged rank flips
    flips = Alert.objects.get(kind="rank_flip")
    url = reverse("insights:alert-action", args=[flips.pk])

    response = client.post(url, {"action": "dismiss"})
    assert response.status_code == 302
    flips.refresh_from_db()
    assert flips.dismissed_by == marketer and flips.dismissed_at is not None
    assert nav_count(client) == 2
    page = client.get(reverse("insights:alerts") + "?view=dismissed").content.decode()
    assert "5 channels rank differently" in page and "Dismissed by" in page
    client.post(url, {"action": "reopen"})
    assert nav_count(client) == 3

    until = timezone.localdate() + timedelta(days=3)
    response = client.post(url, {"action": "snooze", "until": until.isoformat()})
    assert response.status_code == 302
    flips.refresh_from_db()
    assert flips.snoozed_by == marketer and timezone.localdate(flips.snoozed_until) == until
    assert nav_count(client) == 2
    assert "5 channels rank" not in client.get(reverse("insights:alerts")).content.decode()
    # Once the day comes, it is open again.
    Alert.objects.filter(pk=flips.pk).update(snoozed_until=timezone.now() - timedelta(minutes=1))
    assert nav_count(client) == 3

    sla = Alert.objects.get(key=f"lead:{rep.owned_leads.get().pk}")
    url = reverse("insights:alert-action", args=[sla.pk])
    assert client.post(url, {"action": "assign", "assignee": rep.pk}).status_code == 302
    sla.refresh_from_db()
    assert (sla.assigned_to, sla.assigned_by) == (rep, marketer)
    client.force_login(rep)
    page = client.get(reverse("insights:alerts") + "?view=mine").content.decode()
    assert f'id="alert-{sla.pk}"' in page
    # A rep may not be given a marketing alert, nor act on one they cannot see (404).
    client.force_login(manager)
    response = client.post(
        reverse("insights:alert-action", args=[flips.pk]), {"action": "assign", "assignee": rep.pk}
    )
    assert response.status_code == 400
    assert "This person may not see this alert." in response.content.decode()
    client.force_login(rep)
    response = client.post(reverse("insights:alert-action", args=[flips.pk]), {"action": "dismiss"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"action": "snooze"},
        {"action": "snooze", "until": "not-a-date"},
        {"action": "snooze", "until": "2001-01-01"},
        {"action": "snooze", "until": "2999-01-01"},
        {"action": "assign", "assignee": "x"},
        {"action": "assign", "assignee": "999999"},
        {"action": "explode"},
        {},
    ],
)
def test_bad_alert_actions_are_refused_with_a_message(client, marketer, data):
    alerts_check_rank_flips(run=flipping_run())
    alert = Alert.objects.get()
    client.force_login(marketer)
    response = client.post(reverse("insights:alert-action", args=[alert.pk]), data)
    assert response.status_code == 400
    assert 'class="errorlist"' in response.content.decode()
    alert.refresh_from_db()
    assert alert.snoozed_until is None and alert.assigned_to is None


def test_an_alert_action_needs_a_post_and_a_known_alert(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("insights:alert-action", args=[1])).status_code == 405
    assert client.post(reverse("insights:alert-action", args=[999]), {}).status_code == 404


def test_the_assignee_is_emailed_in_their_language(
    manager, marketer, django_capture_on_commit_callbacks
):
    marketer.email = "mk@example.com"
    marketer.save()
    UserPreference.objects.create(user=marketer, language="id")
    alerts_check_rank_flips(run=flipping_run())
    alert = Alert.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        alert_assign(alert=alert, by=manager, assignee=marketer)
    with django_capture_on_commit_callbacks(execute=True):
        alert_assign(alert=alert, by=manager, assignee=marketer)  # no change, no second mail
    assert [m.to for m in mail.outbox] == [["mk@example.com"]]
    message = mail.outbox[0]
    assert "5 saluran berbeda peringkatnya antar model atribusi" in message.subject
    assert "Paid Social berada di peringkat #1" in message.body
    assert "/insights/alerts/?view=mine" in message.body
