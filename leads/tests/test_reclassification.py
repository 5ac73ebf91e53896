"""Reclassification never rewrites history: it classifies each stored touch in its visit,
exactly as capture did, shows its diff first, needs a typed confirmation and can be undone."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribution.models import AttributionRun, CreditLedger
from campaigns import services
from campaigns.models import Channel, ChannelRule, ReclassifyChange, ReclassifyJob
from leads.classification import touchpoints_walk
from leads.models import CaptureForm, Lead, Submission, Touchpoint, Visitor
from leads.reclassification import reclassify_preview, reclassify_run, reclassify_undo
from leads.services import RequestMeta, submission_capture
from leads.touches import page_views_record
from leads.untracked import campaign_register_untracked

pytestmark = pytest.mark.django_db

SITE = "https://www.example.com"
TOUCH_FIELDS = ("channel_id", "matched_rule", "source", "medium", "campaign_id", "self_referral")


def _touches() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in Touchpoint.objects.values_list("id", *TOUCH_FIELDS)}


def _first_channels() -> dict[int, int | None]:
    return dict(Lead.objects.values_list("id", "first_channel_id"))


@pytest.fixture
def demo(celery_eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # the attribution run finishes
        call_command("seed_demo", "--leads", "150", "--seed", "3")
    # seed_demo makes one run per scope; the previews read the contact run.
    assert set(AttributionRun.objects.values_list("scope", "status")) == {
        ("contact", "done"),
        ("account", "done"),
    }
    assert Touchpoint.objects.filter(self_referral=True).count() > 100


def test_demo_data_reclassified_with_unchanged_rules_changes_nothing(client, demo):
    before = _touches()
    client.login(username="admin", password="clm-demo")

    dry_run = client.post(reverse("campaigns:rule-bench"), {"action": "dry-run"})
    assert '<strong id="dry-run-changed">0</strong>' in dry_run.content.decode()
    preview = client.get(reverse("campaigns:rule-bench"), {"preview": "1"}).content.decode()
    assert '<strong id="preview-changed">0</strong>' in preview
    assert 'id="preview-nothing"' in preview
    for latest in (97, 500):  # the window starts inside visits
        window = reclassify_preview(latest=latest)
        assert window.partial and window.changed == 0

    job = ReclassifyJob.objects.create()
    job = reclassify_run(job_id=job.pk, batch_size=97)  # batch boundaries inside visits
    assert (job.status, job.total, job.changed) == ("done", len(before), 0)
    assert _touches() == before
    assert not AttributionRun.objects.filter(older_rules_job__isnull=False).exists()


def test_a_changed_rule_moves_exactly_its_touches_with_their_visits_and_undo_restores_them(
    client, demo, django_capture_on_commit_callbacks
):
    before, first_channels = _touches(), _first_channels()
    google = Touchpoint.objects.filter(referrer="https://www.google.com/").order_by(
        "occurred_at", "id"
    )
    assert google.exists()
    referral = {touch.channel_id for touch in google}
    assert len(referral) == 1
    affiliates = Channel.objects.get(name="Affiliates")
    services.channel_rule_save(
        rule=ChannelRule(
            position=0,
            channel=affiliates,
            conditions=[
                {"field": "source", "op": "exact", "value": "google"},
                {"field": "medium", "op": "exact", "value": "organic"},
            ],
        )
    )
    # Expected: the bing touches, and the page views that continue them in their visit.
    expected = set()
    for touch in google:
        expected.add(touch.pk)
        later = Touchpoint.objects.filter(
            visitor_id=touch.visitor_id, occurred_at__gt=touch.occurred_at
        ).order_by("occurred_at", "id")
        for follower in later:
            if not follower.self_referral:
                break
            expected.add(follower.pk)
    run = AttributionRun.objects.get(scope="contact")
    assert CreditLedger.objects.filter(run=run, model="linear", touchpoint_id__in=expected).exists()
    credited = {
        row["touchpoint_id"]: row["value_cents"]
        for row in CreditLedger.objects.filter(run=run, model="linear", touchpoint_id__in=expected)
        .values("touchpoint_id")
        .order_by()
        .annotate(value_cents=Sum("value_cents"))
    }
    client.login(username="admin", password="clm-demo")

    page = client.get(reverse("campaigns:rule-bench"), {"preview": "1", "model": "linear"})
    preview = page.context["preview"]
    assert preview.channel_changed == preview.changed == len(expected)
    (referral,) = referral
    assert dict(preview.matrix) == {(referral, affiliates.pk): len(expected)}
    assert preview.revenue == {(referral, affiliates.pk): sum(credited.values())}
    html = page.content.decode()
    assert 'id="reclassify-matrix"' in html and 'class="danger"' in html

    refused = client.post(reverse("campaigns:reclassify"), {"confirm": "reclassify"})
    assert refused.status_code == 400
    assert "Type RECLASSIFY (in capitals) to confirm." in refused.content.decode()
    assert not ReclassifyJob.objects.exists()
    assert client.post(reverse("campaigns:reclassify"), {}).status_code == 400

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("campaigns:reclassify"), {"confirm": "RECLASSIFY"})
    assert response.status_code == 302
    job = ReclassifyJob.objects.get()
    assert (job.status, job.changed) == ("done", len(expected))
    after = _touches()
    assert {pk for pk in before if before[pk] != after[pk]} == expected
    assert set(ReclassifyChange.objects.values_list("touchpoint_id", flat=True)) == expected
    assert {after[pk][0] for pk in expected} == {affiliates.pk}
    moved_leads = set(Lead.objects.filter(first_touch_id__in=expected).values_list("id", flat=True))
    assert moved_leads and all(
        Lead.objects.get(pk=pk).first_channel_id == affiliates.pk for pk in moved_leads
    )
    run.refresh_from_db()
    assert run.older_rules_job == job
    dashboard = client.get(reverse("attribution:marketing-dashboard")).content.decode()
    assert "based on older channel rules" in dashboard
    assert reclassify_preview().changed == 0  # the rules and history agree now

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("campaigns:reclassify-undo", args=[job.pk]))
    assert _touches() == before
    assert _first_channels() == first_channels
    job.refresh_from_db()
    assert job.restored == len(expected) and job.undone_at is not None
    assert reclassify_undo(job=job) == 0  # undone twice changes nothing
    assert _touches() == before


# --- a property: whatever visits are captured, in whatever order, reclassifying changes nothing

REFERRERS = (
    "",
    f"{SITE}/",
    f"{SITE}/pricing",
    "https://www.google.com/",
    "https://news.ycombinator.com/",
)
LANDINGS = (
    f"{SITE}/",
    f"{SITE}/pricing",
    f"{SITE}/?utm_source=google&utm_medium=cpc&utm_campaign=spring",
    f"{SITE}/?utm_source=newsletter&utm_medium=email",
    f"{SITE}/?gclid=abc",
)
event = st.tuples(
    st.sampled_from(["view", "view", "view", "capture"]),
    st.integers(0, 3),  # visitor
    st.integers(0, 1),  # email (two visitors may be the same person)
    st.integers(0, 600),  # minutes after the start
    st.sampled_from(LANDINGS),
    st.sampled_from(REFERRERS),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(event, min_size=1, max_size=14), batch=st.integers(1, 4))
def test_visits_captured_in_any_order_reclassify_to_nothing(events, batch):
    Touchpoint.objects.all().delete()
    Submission.objects.all().delete()
    Lead.objects.all().delete()
    Visitor.objects.all().delete()
    form = CaptureForm.objects.get_or_create(
        name="Demo request", defaults={"allowed_origins": [SITE]}
    )[0]
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    views: list[dict] = []

    def flush(at):
        if views:
            page_views_record(events=list(views), meta=RequestMeta(received_at=at))
            views.clear()

    for n, (kind, visitor, email, minutes, landing, referrer) in enumerate(events):
        at = start + timedelta(minutes=minutes)
        if kind == "view":
            views.append({"visitor_id": f"v{visitor}", "url": landing, "referrer": referrer,
                          "ts": at.timestamp() * 1000})  # fmt: skip
            if len(views) >= batch:
                flush(at)
            continue
        flush(at)
        data = {"email": f"p{email}@example.org", "visitor_id": f"v{visitor}",
                "landing_url": landing, "referrer": referrer, "submission_id": f"s{n}"}  # fmt: skip
        submission_capture(
            form=form, data=data, custom={}, payload=data, meta=RequestMeta(received_at=at)
        )
    flush(start + timedelta(minutes=600))

    changed = [item for item in touchpoints_walk() if item.changed]
    assert changed == []
    for latest in (1, 3, 7):  # a window that starts inside visits continues them too
        assert [item for item in touchpoints_walk(latest=latest) if item.changed] == []


def test_registering_a_campaign_links_the_page_views_that_continue_its_touches():
    form = CaptureForm.objects.create(name="Demo request", allowed_origins=[SITE])
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    landing = f"{SITE}/?utm_source=partner&utm_medium=affiliate&utm_campaign=spring_promo"
    page_views_record(
        events=[
            {"visitor_id": "v1", "url": landing, "ts": start.timestamp() * 1000},
            {
                "visitor_id": "v1",
                "url": f"{SITE}/pricing",
                "referrer": f"{SITE}/",
                "ts": (start + timedelta(minutes=1)).timestamp() * 1000,
            },
        ],
        meta=RequestMeta(received_at=start),
    )
    data = {"email": "a@example.org", "visitor_id": "v1", "landing_url": f"{SITE}/demo",
            "referrer": f"{SITE}/pricing"}  # fmt: skip
    submission_capture(
        form=form, data=data, custom={}, payload=data,
        meta=RequestMeta(received_at=start + timedelta(minutes=2)),
    )  # fmt: skip

    campaign = campaign_register_untracked(utm_campaign="spring_promo")

    assert [t.campaign_id for t in Touchpoint.objects.order_by("occurred_at")] == [campaign.pk] * 3
    assert Lead.objects.get().first_campaign_id == campaign.pk
    assert [item for item in touchpoints_walk() if item.changed] == []


def test_touches_logged_by_sales_keep_their_channel_and_are_continued_like_any_touch():
    from leads.tests.factories import LeadFactory
    from leads.touches import touchpoint_record_offline

    lead = LeadFactory()
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    event = touchpoint_record_offline(lead=lead, occurred_at=start, channel_name="Event")
    data = {"email": lead.email, "landing_url": f"{SITE}/demo", "referrer": f"{SITE}/"}
    form = CaptureForm.objects.create(name="Demo request", allowed_origins=[SITE])
    submission_capture(
        form=form, data=data, custom={}, payload=data,
        meta=RequestMeta(received_at=start + timedelta(hours=1)),
    )  # fmt: skip

    submit = Touchpoint.objects.exclude(pk=event.pk).get()
    assert submit.channel_id == event.channel_id  # a self-referral continues the lead's touch
    assert [item for item in touchpoints_walk() if item.changed] == []


@pytest.mark.django_db(transaction=True)
def test_reclassify_and_undo_commit_outside_a_test_transaction(client, seeded_rows, celery_eager):
    from clm import roles
    from clm.services import user_create

    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    page_views_record(
        events=[
            {
                "visitor_id": "v1",
                "url": f"{SITE}/",
                "referrer": "https://www.bing.com/",
                "ts": start.timestamp() * 1000,
            },
            {
                "visitor_id": "v1",
                "url": f"{SITE}/pricing",
                "referrer": f"{SITE}/",
                "ts": (start + timedelta(minutes=1)).timestamp() * 1000,
            },
        ],
        meta=RequestMeta(received_at=start),
    )
    before = _touches()
    services.channel_rule_save(
        rule=ChannelRule(
            position=0,
            channel=Channel.objects.get(name="Affiliates"),
            conditions=[{"field": "source", "op": "exact", "value": "bing"}],
        )
    )
    client.force_login(user_create(username="boss", role=roles.ADMIN, password="pw-for-tests-1"))

    client.post(reverse("campaigns:reclassify"), {"confirm": "RECLASSIFY"})
    job = ReclassifyJob.objects.get()
    assert (job.status, job.changed) == ("done", 2)
    client.post(reverse("campaigns:reclassify-undo", args=[job.pk]))
    assert _touches() == before


def test_an_erased_persons_touches_keep_their_channel_when_reclassified(demo):
    from leads.erasure import person_erase

    lead = (
        Lead.objects.filter(touchpoints__utm_source__gt="", touchpoints__channel__isnull=False)
        .exclude(touchpoints__channel__name="Direct")
        .distinct()
        .first()
    )
    assert lead is not None
    person_erase(email=lead.email)
    erased = Touchpoint.objects.filter(lead=lead)
    assert not erased.filter(utm_term__gt="").exists()
    before = _touches()

    job = reclassify_run(job_id=ReclassifyJob.objects.create().pk)

    assert job.changed == 0
    assert _touches() == before
    assert reclassify_preview().changed == 0


def test_a_second_reclassification_waits_for_the_one_in_progress(client, admin):
    """A double click on "Reclassify" starts one job: the second post is told one is running,
    the button is disabled while it is, and the status the page polls shows its progress."""
    from leads.reclassification import ReclassifyInProgress, reclassify_start

    client.force_login(admin)
    url = reverse("campaigns:reclassify")
    # No commit in this test: the job stays queued, as before a worker takes it.
    first = client.post(url, {"confirm": "RECLASSIFY"})
    second = client.post(url, {"confirm": "RECLASSIFY"}, follow=True)

    job = ReclassifyJob.objects.get()
    assert first.status_code == 302
    assert f"Reclassification #{job.pk} is in progress already" in second.content.decode()
    with pytest.raises(ReclassifyInProgress):
        reclassify_start(confirmation="RECLASSIFY")
    page = client.get(reverse("campaigns:rule-bench"), {"preview": "1"}).content.decode()
    if 'id="reclassify-submit"' in page:  # shown when something would change
        assert 'id="reclassify-submit" disabled' in page
    status = client.get(reverse("campaigns:reclassify-status", args=[job.pk]))
    assert "no-cache" in status["Cache-Control"]
    assert status.json()["status"] == "queued"
    assert status.json()["status_display"] == "Queued"
    assert status.json()["percent"] == 0  # queued is not done: the bar stays empty
    assert "Queued" in page and 'progress max="100" value="0"' in page

    reclassify_run(job_id=job.pk)
    assert reclassify_start(confirmation="RECLASSIFY").pk != job.pk  # done: the next may start
    assert ReclassifyJob.objects.count() == 2


def test_a_reclassification_lost_by_its_worker_does_not_block_the_next(admin):
    from leads.reclassification import ABANDONED_AFTER, reclassify_start

    lost = ReclassifyJob.objects.create(status=ReclassifyJob.Status.RUNNING)
    ReclassifyJob.objects.filter(pk=lost.pk).update(
        created_at=datetime.now(UTC) - ABANDONED_AFTER - timedelta(minutes=1)
    )
    assert reclassify_start(confirmation="RECLASSIFY").pk != lost.pk
