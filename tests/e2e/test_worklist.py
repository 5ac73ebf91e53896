"""A rep's day in the browser: a follow-up from an outcome, "My day", the reminder email; the
queue as a work list (search, sort, saved view, CSV export of only their leads)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from crm import services
from crm.models import SavedView, Task
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_rep_adds_a_follow_up_from_an_outcome_sees_it_on_my_day_and_is_reminded(
    page, login, screenshot, rep, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rep.email = "riley@example.com"
    rep.save()
    lead = LeadFactory(owner=rep, first_name="Ada", last_name="Lovelace", company="Engines")
    login(rep.username)
    page.goto(f"/crm/leads/{lead.pk}/")
    page.click("label.kind:has(input[value=call])")
    page.click(".outcomes[data-kind=call] button:has-text('Call back later')")
    page.wait_for_load_state("networkidle")
    # The outcome proposes the follow-up, prefilled; the rep adjusts the time and accepts.
    assert page.locator("#follow-up-proposal").is_visible()
    assert page.input_value("#task-form input[name=title]") == "Call back Ada Lovelace"
    assert page.input_value("#task-form select[name=kind]") == "call"
    soon = timezone.localtime() + timedelta(minutes=30)
    page.fill("#task-form input[name=due_at]", soon.strftime("%Y-%m-%dT%H:%M"))
    page.click("#task-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Follow-up “Call back Ada Lovelace” added." in page.locator(".messages").inner_text()
    task = Task.objects.get()
    assert task.assignee == rep and task.kind == "call"

    page.click(".mainnav a:has-text('My day')")
    page.wait_for_load_state("networkidle")
    assert "Call back Ada Lovelace" in page.locator("#today, #overdue").first.inner_text()
    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(f"my-day-rep-{width}")

    # At the due time the beat task emails the reminder, once; the nav shows it as due.
    assert services.tasks_send_reminders(now=timezone.now() + timedelta(hours=1)) == 1
    assert services.tasks_send_reminders(now=timezone.now() + timedelta(hours=1)) == 0
    assert [m.to for m in mail.outbox] == [["riley@example.com"]]
    assert "Call back Ada Lovelace" in mail.outbox[0].subject
    Task.objects.filter(pk=task.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    page.reload()
    assert page.locator(".mainnav .navbadge").inner_text() == "1"

    page.click(f"li[data-task='{task.pk}'] button.done-btn")
    page.wait_for_load_state("networkidle")
    assert Task.objects.get().done_at is not None
    assert page.locator(".mainnav .navbadge").count() == 0
    assert "Call back Ada Lovelace" in page.locator("#done-today").inner_text()
    assert page.console_errors == []


def test_rep_searches_sorts_saves_a_view_and_exports_only_their_leads(
    page, login, screenshot, rep, other_rep, manager
):
    for last, company in (("Zed", "Acme"), ("Abel", "Acme"), ("Moss", "Globex")):
        LeadFactory(owner=rep, first_name="Pat", last_name=last, company=company)
    LeadFactory(owner=other_rep, first_name="Not", last_name="Mine", company="Acme")
    login(rep.username)
    page.goto("/crm/")
    page.fill("input[name=q]", "acme")
    page.click(".filterbar button[type=submit]")
    page.wait_for_load_state("networkidle")
    rows = page.locator("#queue tbody .leadname")
    assert sorted(rows.all_inner_texts()) == ["Pat Abel", "Pat Zed"]
    page.click("#queue thead a.sort:has-text('Lead')")
    page.wait_for_load_state("networkidle")
    assert rows.all_inner_texts() == ["Pat Abel", "Pat Zed"]
    page.click("#queue thead a.sort:has-text('Lead')")
    page.wait_for_load_state("networkidle")
    assert rows.all_inner_texts() == ["Pat Zed", "Pat Abel"]

    page.fill("#save-view input[name=name]", "Acme accounts")
    page.click("#save-view button[type=submit]")
    page.wait_for_load_state("networkidle")
    view = SavedView.objects.get()
    assert view.owner == rep and "q=acme" in view.query
    page.goto("/crm/")
    page.click("#saved-views a.chip:has-text('Acme accounts')")
    page.wait_for_load_state("networkidle")
    assert rows.all_inner_texts() == ["Pat Zed", "Pat Abel"]

    with page.expect_download() as download:
        page.click("#export-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "Zed" in text and "Abel" in text
    assert "Mine" not in text and "Moss" not in text  # only their leads, only the view's
    for width, height in ((390, 844), (1440, 900)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(f"queue-worklist-rep-{width}")
    assert page.console_errors == []

    # The manager's view of the same pages, for the README's screenshots.
    services.task_create(
        lead=LeadFactory(owner=rep, first_name="Late", last_name="Lead"),
        title="Send the proposal",
        due_at=timezone.now() - timedelta(hours=2),
        by=rep,
    )
    page.context.clear_cookies()
    login(manager.username)
    for url, name in (("/crm/my-day/", "my-day-manager"), ("/crm/?order=name", "queue-manager")):
        page.goto(url)
        for width, height in ((390, 844), (1440, 900)):
            page.set_viewport_size({"width": width, "height": height})
            screenshot(f"{name}-{width}")
    page.goto("/crm/my-day/")
    assert "Send the proposal" in page.locator("#team-overdue").inner_text()
