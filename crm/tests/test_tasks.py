"""Follow-ups: created from the lead page or an outcome, listed on "My day", reminded once."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from crm import services
from crm.models import Task
from crm.selectors import due_task_count, my_day
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def task(lead, *, by, due=timedelta(hours=1), **kw):
    return services.task_create(
        lead=lead, title=kw.pop("title", "Call back"), due_at=timezone.now() + due, by=by, **kw
    )


def test_a_rep_adds_a_follow_up_from_the_lead_page_and_sees_it_on_my_day(client, rep):
    lead = LeadFactory(owner=rep, first_name="Ada", last_name="Lovelace")
    client.force_login(rep)
    due = timezone.localtime() + timedelta(hours=2)
    response = client.post(
        reverse("crm:lead-task", args=[lead.pk]),
        {"title": "Send the proposal", "kind": "email", "due_at": due.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302 and response.url.endswith("#follow-ups")
    created = Task.objects.get()
    assert (created.lead, created.assignee, created.kind) == (lead, rep, "email")
    page = client.get(reverse("crm:my-day")).content.decode()
    assert "Send the proposal" in page and "Ada Lovelace" in page
    assert "Send the proposal" in client.get(reverse("crm:lead", args=[lead.pk])).content.decode()


def test_bad_follow_up_input_is_a_400_with_field_messages(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    long_ago = (timezone.localtime() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("crm:lead-task", args=[lead.pk]), {"title": "", "kind": "fax", "due_at": long_ago}
    )
    assert response.status_code == 400
    assert set(response.context["task_form"].errors) >= {"title", "kind"}
    response = client.post(
        reverse("crm:lead-task", args=[lead.pk]), {"title": "x", "kind": "call", "due_at": long_ago}
    )
    assert response.status_code == 400 and "more than a day ago" in response.content.decode()
    assert not Task.objects.exists()


def test_a_rep_cannot_add_a_follow_up_to_another_reps_lead(client, rep, other_rep):
    lead = LeadFactory(owner=other_rep)
    client.force_login(rep)
    due = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("crm:lead-task", args=[lead.pk]), {"title": "x", "kind": "call", "due_at": due}
    )
    assert response.status_code == 404 and not Task.objects.exists()


@pytest.mark.parametrize(
    ("outcome", "kind", "title"),
    [
        ("call_back", "call", "Call back Ada Lovelace"),
        ("meeting_booked", "meeting", "Meeting with Ada Lovelace"),
    ],
)
def test_logging_an_outcome_proposes_a_prefilled_follow_up(client, rep, outcome, kind, title):
    lead = LeadFactory(owner=rep, first_name="Ada", last_name="Lovelace")
    client.force_login(rep)
    response = client.post(
        reverse("crm:lead-activity", args=[lead.pk]),
        {"kind": "call" if kind == "call" else "meeting", "outcome": outcome},
    )
    assert response.status_code == 302 and f"follow_up={outcome}" in response.url
    page = client.get(response.url)
    form = page.context["task_form"]
    assert form.initial["kind"] == kind and form.initial["title"] == title
    assert timezone.localtime(form.initial["due_at"]).hour == 10
    assert 'id="follow-up-proposal"' in page.content.decode()
    assert not Task.objects.exists()  # proposed, not created: the rep accepts or adjusts


def test_a_booked_meeting_proposes_its_follow_up_at_the_meeting_time(client, rep):
    lead = LeadFactory(owner=rep, first_name="Ada", last_name="Lovelace")
    client.force_login(rep)
    meeting = (timezone.localtime() + timedelta(days=3)).replace(
        hour=14, minute=30, second=0, microsecond=0
    )
    response = client.post(
        reverse("crm:lead-activity", args=[lead.pk]),
        {
            "kind": "call",
            "outcome": "meeting_booked",
            "meeting_at": meeting.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    assert f"at={meeting.strftime('%Y-%m-%dT%H')}%3A30" in response.url
    form = client.get(response.url).context["task_form"]
    assert form.initial["kind"] == "meeting" and form.initial["due_at"] == meeting
    # Call back later ignores a meeting time; a bad time in the URL is ignored, not a 500.
    called = client.post(
        reverse("crm:lead-activity", args=[lead.pk]),
        {"kind": "call", "outcome": "call_back", "meeting_at": meeting.strftime("%Y-%m-%dT%H:%M")},
    )
    assert "at=" not in called.url
    for bad in ("2026-13-45T99:99", "x" * 5000, "1-01-01T00:00", "\x00"):
        page = client.get(reverse("crm:lead", args=[lead.pk]), {"follow_up": "meeting_booked",
                                                                  "at": bad})  # fmt: skip
        assert page.status_code == 200
        assert timezone.localtime(page.context["task_form"].initial["due_at"]).hour == 10
    assert not Task.objects.exists()


def test_follow_ups_added_and_done_appear_in_the_lead_history(client, rep):
    lead = LeadFactory(owner=rep)
    first = task(lead, by=rep, title="Send the deck")
    second = task(lead, by=rep, title="Book the demo", due=timedelta(days=2))
    services.task_complete(task=first, by=rep)
    client.force_login(rep)
    page = client.get(reverse("crm:lead", args=[lead.pk]))
    steps = [
        (type(s).__name__, getattr(s, "done", None), getattr(getattr(s, "task", None), "pk", None))
        for s in page.context["timeline"]
    ]
    assert steps == [
        ("TaskStep", False, first.pk),
        ("TaskStep", False, second.pk),
        ("TaskStep", True, first.pk),
    ]
    html = page.content.decode()
    history = html[html.index('id="history"') :]
    assert history.count("Follow-up added:") == 2 and history.count("Follow-up done:") == 1
    assert "Send the deck" in history and "Book the demo" in history


def test_a_plain_outcome_proposes_nothing(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    response = client.post(
        reverse("crm:lead-activity", args=[lead.pk]), {"kind": "call", "outcome": "connected"}
    )
    assert "follow_up" not in response.url


def test_my_day_puts_overdue_and_today_first_then_upcoming(rep):
    lead = LeadFactory(owner=rep)
    now = timezone.now()
    overdue = task(lead, by=rep, due=-timedelta(hours=23), title="late")
    later = task(lead, by=rep, due=timedelta(days=3), title="later")
    day = my_day(user=rep, now=now)
    assert overdue in day.overdue + day.today and later in day.upcoming
    services.task_complete(task=overdue, by=rep)
    day = my_day(user=rep, now=now)
    assert overdue not in day.overdue + day.today and overdue in day.done_today


def test_done_in_one_tap_and_done_once(client, rep):
    lead = LeadFactory(owner=rep)
    t = task(lead, by=rep)
    client.force_login(rep)
    response = client.post(reverse("crm:task-done", args=[t.pk]), {"next": "/crm/my-day/"})
    assert response.url == "/crm/my-day/"
    first = Task.objects.get().done_at
    assert first is not None
    client.post(reverse("crm:task-done", args=[t.pk]))
    assert Task.objects.get().done_at == first


def test_a_rep_cannot_complete_another_reps_task(client, rep, other_rep):
    t = task(LeadFactory(owner=other_rep), by=other_rep)
    client.force_login(rep)
    assert client.post(reverse("crm:task-done", args=[t.pk])).status_code == 404
    assert Task.objects.get().done_at is None


def test_managers_see_their_teams_overdue_tasks(client, manager, rep, other_rep):
    t = task(LeadFactory(owner=rep), by=rep, due=-timedelta(hours=3), title="Overdue for rep")
    task(LeadFactory(owner=other_rep), by=other_rep, due=timedelta(hours=3), title="Not yet due")
    assert my_day(user=manager).team_overdue == [t]
    assert my_day(user=rep).team_overdue is None
    client.force_login(manager)
    page = client.get(reverse("crm:my-day")).content.decode()
    assert 'id="team-overdue"' in page and "Overdue for rep" in page
    assert "Not yet due" not in page


def test_a_reassigned_lead_takes_its_open_follow_ups_to_the_new_owner(manager, rep, other_rep):
    lead = LeadFactory(owner=rep)
    open_task = task(lead, by=rep)
    done = task(lead, by=rep)
    services.task_complete(task=done, by=rep)
    services.lead_assign(lead=lead, owner=other_rep, by=manager)
    assert Task.objects.get(pk=open_task.pk).assignee == other_rep
    assert Task.objects.get(pk=done.pk).assignee == rep


def test_the_nav_badge_counts_the_users_due_follow_ups(client, rep):
    lead = LeadFactory(owner=rep)
    task(lead, by=rep, due=-timedelta(minutes=5))
    task(lead, by=rep, due=timedelta(hours=5))
    assert due_task_count(rep) == 1
    client.force_login(rep)
    items = client.get(reverse("crm:queue")).context["nav_items"]
    assert [i["badge"] for i in items if i["url"] == reverse("crm:my-day")] == [1]


# --- Reminders -----------------------------------------------------------------------------


def test_a_due_task_is_reminded_once_by_email(settings, rep):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rep.email = "rep@example.com"
    rep.save()
    lead = LeadFactory(owner=rep, first_name="Ada", last_name="Lovelace")
    due = task(lead, by=rep, due=-timedelta(minutes=1), title="Call back Ada")
    task(lead, by=rep, due=timedelta(hours=1), title="Not yet")
    finished = task(lead, by=rep, due=-timedelta(minutes=1), title="Already done")
    services.task_complete(task=finished, by=rep)
    assert services.tasks_send_reminders() == 1
    assert [m.to for m in mail.outbox] == [[rep.email]]
    assert "Call back Ada" in mail.outbox[0].subject
    assert f"/crm/leads/{lead.pk}/" in mail.outbox[0].body
    assert Task.objects.get(pk=due.pk).reminder_sent_at is not None
    # A rerun (or a second beat) sends nothing new.
    assert services.tasks_send_reminders() == 0
    assert len(mail.outbox) == 1
    # The next one falls due later: only it is sent.
    assert services.tasks_send_reminders(now=timezone.now() + timedelta(hours=2)) == 1
    assert len(mail.outbox) == 2


def test_a_failed_mail_is_retried_at_the_next_sweep(settings, rep, monkeypatch):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    rep.email = "rep@example.com"
    rep.save()
    t = task(LeadFactory(owner=rep), by=rep, due=-timedelta(minutes=1))

    def broken(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("crm.services.tasks.send_mail", broken)
    assert services.tasks_send_reminders() == 0
    assert Task.objects.get(pk=t.pk).reminder_sent_at is None
    monkeypatch.undo()
    assert services.tasks_send_reminders() == 1 and len(mail.outbox) == 1


def test_the_reminder_task_is_on_the_beat_schedule():
    from clm.beat import schedule

    assert schedule()["task-reminders"]["task"] == "crm.tasks.tasks_send_reminders"


# --- API -----------------------------------------------------------------------------------


def test_api_tasks_follow_lead_visibility(client, rep, other_rep):
    mine = task(LeadFactory(owner=rep), by=rep)
    task(LeadFactory(owner=other_rep), by=other_rep)
    client.force_login(rep)
    body = client.get("/api/v1/tasks/").json()
    assert [row["id"] for row in body["results"]] == [mine.pk]


def test_api_creates_completes_and_refuses_bad_input(client, rep, other_rep):
    lead = LeadFactory(owner=rep)
    foreign = LeadFactory(owner=other_rep)
    client.force_login(rep)
    due = (timezone.now() + timedelta(hours=1)).isoformat()
    created = client.post(
        "/api/v1/tasks/",
        {"lead": lead.pk, "title": "Call", "due_at": due},
        content_type="application/json",
    )
    assert created.status_code == 201 and created.json()["assignee"] == rep.pk
    refused = client.post(
        "/api/v1/tasks/",
        {"lead": foreign.pk, "title": "", "due_at": "soon"},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert {"lead", "title", "due_at"} <= set(refused.json()["errors"])
    to_other = client.post(
        "/api/v1/tasks/",
        {"lead": lead.pk, "title": "x", "due_at": due, "assignee": other_rep.pk},
        content_type="application/json",
    )
    assert to_other.status_code == 400 and "assignee" in to_other.json()["errors"]
    pk = created.json()["id"]
    done = client.patch(f"/api/v1/tasks/{pk}/", {"done": True}, content_type="application/json")
    assert done.status_code == 200 and done.json()["done_at"] is not None
    assert client.delete(f"/api/v1/tasks/{pk}/").status_code == 403


def test_tasks_are_in_the_openapi_schema(client, rep):
    client.force_login(rep)
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/tasks/" in schema and "TaskCreateInput" in schema


def test_erasing_a_person_erases_their_leads_follow_ups(rep):
    from leads.erasure import person_erase

    lead = LeadFactory(owner=rep, email="ada@example.com", first_name="Ada", last_name="Lovelace")
    other = task(LeadFactory(owner=rep), by=rep, title="Someone else")
    task(lead, by=rep, title="Call Ada Lovelace about her mortgage")
    result = person_erase(email="ada@example.com")
    assert result.counts["tasks"] == 1
    assert list(Task.objects.all()) == [other]
