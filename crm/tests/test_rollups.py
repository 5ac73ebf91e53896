"""The dashboards' daily rollups stay equal to a recount from scratch, whatever writes them."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import Channel
from clm import roles
from crm import rollups
from crm.models import Activity, DailyCount, LeadFeedback, QualityReason, RollupMark
from crm.services import (
    activity_delete,
    activity_log,
    activity_update,
    deal_close,
    deal_create,
    deal_reopen,
    feedback_rate,
    lead_advance_stage,
    lead_assign,
    lead_bulk_assign,
)
from crm.tests.factories import ActivityFactory, lead_with_journey
from leads.models import CaptureForm, Lead, Touchpoint
from leads.services import lead_heard_about_set
from leads.touches import leads_first_touch_sync

pytestmark = pytest.mark.django_db


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def snapshot() -> dict[tuple, tuple[int, Decimal]]:
    """Day rows and month rows, summed per identity (row splits do not matter)."""
    out: dict[tuple, tuple[int, Decimal]] = {}
    for r in DailyCount.objects.values_list(
        "kind", "key", "monthly", "day", "channel_id", "campaign_id", "person_id", "count",
        "amount",
    ):  # fmt: skip
        n, a = out.get(r[:7], (0, Decimal(0)))
        out[r[:7]] = (n + r[7], a + r[8])
    return out


def assert_matches_a_recount() -> None:
    rollups.refresh()
    assert not RollupMark.objects.exists()
    incremental = snapshot()
    rollups.rebuild()
    assert incremental == snapshot()


def test_every_kind_of_write_leaves_the_rollups_equal_to_a_recount(make_user, manager, client):
    reps = [make_user(roles.SALES_REP) for _ in range(2)]
    today = timezone.localdate()
    # Leads over two months and their edges, on three channels.
    leads = [
        lead_with_journey(
            owner=reps[n % 2],
            created_at=at(today - timedelta(days=3 * n)),
            touches=[{"channel_name": ("Email", "Paid Search", "Direct")[n % 3]}],
        )
        for n in range(14)
    ]
    assert_matches_a_recount()
    assert DailyCount.objects.filter(kind="lead", monthly=False).exists()
    assert DailyCount.objects.filter(kind="lead", monthly=True).exists()

    # Activities logged, moved to another day, deleted; an admin-style direct save.
    call = activity_log(lead=leads[0], kind="call", outcome="connected", by=reps[0],
                        occurred_at=at(today - timedelta(days=1)))  # fmt: skip
    email = activity_log(lead=leads[3], kind="email", by=reps[1], occurred_at=at(today, 0))
    activity_update(activity=call, by=reps[0], data={"occurred_at": at(today - timedelta(days=40))})
    activity_delete(activity=email, by=manager)
    ActivityFactory(lead=leads[5], by=reps[1], occurred_at=at(today - timedelta(days=9)))
    assert_matches_a_recount()

    # Quality ratings replaced, stage changes, deals won, lost and reopened.
    feedback_rate(lead=leads[1], rating="good", by=reps[1])
    poor = QualityReason.objects.filter(applies_to="poor").first()
    feedback_rate(lead=leads[1], rating="poor", by=reps[1], reason=poor)
    feedback_rate(lead=leads[2], rating="good", by=reps[0])
    lead_advance_stage(lead=leads[4], stage="qualified", by=reps[0])
    won = deal_create(lead=leads[4], name="Won", by=reps[0], amount=Decimal("900"))
    deal_close(deal=won, won=True, by=reps[0])
    lost = deal_create(lead=leads[6], name="Lost", by=reps[0], amount=Decimal("300"))
    deal_close(deal=lost, won=False, by=reps[0], reason="budget")
    deal_reopen(deal=lost, by=reps[0])
    assert_matches_a_recount()

    # Owners change one at a time and in bulk; a first touch changes channel in bulk.
    lead_assign(lead=leads[4], owner=reps[1], by=manager)
    lead_bulk_assign(leads=leads[7:12], owner=reps[0], by=manager)
    touch = Touchpoint.objects.get(pk=leads[2].first_touch_id)
    Touchpoint.objects.filter(pk=touch.pk).update(channel=Channel.objects.get(name="Referral"))
    leads_first_touch_sync(touch_ids=[touch.pk])
    assert_matches_a_recount()

    # "How did you hear about us?": answers given at capture, set and cleared by sales, a
    # returning person's first answer by a later post; a won deal of an answered lead.
    for n, lead in enumerate(leads[8:13]):
        Lead.objects.filter(pk=lead.pk).update(heard_about=("podcast", "friend")[n % 2])
    rollups.rebuild()
    answered = lead_with_journey(
        owner=reps[0], created_at=at(today - timedelta(days=33)), heard_about="podcast",
        touches=[{"channel_name": "Paid Search"}],
    )  # fmt: skip
    lead_heard_about_set(lead=Lead.objects.get(pk=leads[8].pk), heard_about="search")
    lead_heard_about_set(lead=Lead.objects.get(pk=leads[9].pk), heard_about="")
    form = CaptureForm.objects.create(
        name="Demo", slug="demo-answers", min_fill_seconds=0, ask_heard_about=True,
        heard_about_options=[{"key": "friend", "label": "A friend"}],
    )  # fmt: skip
    returning = Lead.objects.get(pk=leads[13].pk)
    body = json.dumps({"email": returning.email, "heard_about": "friend"})
    assert client.post(form.url, body, content_type="application/json").status_code < 300
    assert Lead.objects.get(pk=returning.pk).heard_about == "friend"
    deal_close(deal=deal_create(lead=answered, name="A", by=reps[0], amount=Decimal("70")),
               won=True, by=reps[0])  # fmt: skip
    deal_close(deal=deal_create(lead=leads[10], name="B", by=reps[0], amount=Decimal("40")),
               won=True, by=reps[0])  # fmt: skip
    assert_matches_a_recount()
    won = DailyCount.objects.filter(kind="answer_won", monthly=False)
    assert sorted(won.values_list("key", "amount")) == [("podcast", 40), ("podcast", 70)]
    answers = DailyCount.objects.filter(kind="answer", monthly=False).values_list("key", "count")
    assert sorted(answers) == [("friend", 1), ("friend", 1), ("podcast", 1), ("podcast", 1),
                               ("podcast", 1), ("search", 1)]  # fmt: skip

    # A lead deleted with all its rows; a rating deleted.
    Lead.objects.get(pk=leads[4].pk).delete()
    LeadFeedback.objects.filter(lead=leads[2]).delete()
    assert_matches_a_recount()
    assert not Activity.objects.filter(lead_id=leads[4].pk).exists()


def test_a_period_counts_each_day_once_from_months_and_edge_days(rep):
    today = timezone.localdate()
    rng = random.Random(5)
    for _ in range(60):
        lead_with_journey(owner=rep, created_at=at(today - timedelta(days=rng.randrange(0, 200))))
    rollups.refresh()
    created = [timezone.localdate(d) for d in Lead.objects.values_list("created_at", flat=True)]
    for _ in range(40):
        start = today - timedelta(days=rng.randrange(0, 220))
        end = start + timedelta(days=rng.randrange(0, 120))
        got = sum(rollups.counts("lead", start=start, end=end).filter(key="")
                  .values_list("count", flat=True))  # fmt: skip
        assert got == sum(1 for d in created if start <= d <= end), (start, end)
    everything = rollups.counts("lead").filter(key="").values_list("count", flat=True)
    assert sum(everything) == 60


def test_a_mark_written_while_a_refresh_runs_is_kept_for_the_next(rep, monkeypatch):
    lead_with_journey(owner=rep)
    recount = rollups._recount

    def meanwhile(todo):
        rows = recount(todo)
        # Another transaction commits a change after the recount read its sources.
        lead_with_journey(owner=rep, email="late@example.com")
        return rows

    monkeypatch.setattr(rollups, "_recount", meanwhile)
    rollups.refresh()
    monkeypatch.setattr(rollups, "_recount", recount)
    assert RollupMark.objects.exists()  # the late lead's mark survived
    rollups.refresh()
    total = rollups.counts("lead").filter(key="").values_list("count", flat=True)
    assert sum(total) == 2


def test_reps_read_only_their_own_rows(make_user, manager):
    ann, bob = make_user(roles.SALES_REP), make_user(roles.SALES_REP)
    for owner, n in ((ann, 2), (bob, 3)):
        for _ in range(n):
            lead_with_journey(owner=owner)

    def leads_seen(user) -> int:
        return sum(rollups.counts("lead", user=user).filter(key="").values_list("count", flat=True))

    assert (leads_seen(manager), leads_seen(ann), leads_seen(bob)) == (5, 2, 3)
    marketer_less = make_user(roles.MARKETER)
    assert leads_seen(marketer_less) == 5  # marketers see every lead


def _median(values: list[timedelta]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    middle = (values[(len(values) - 1) // 2] + values[len(values) // 2]) / 2
    return middle.total_seconds() / 3600


@pytest.mark.parametrize(
    "query",
    [
        {"range": "30d"},
        {"range": "90d"},
        {"range": "custom", "start": "2000-01-01", "end": "2100-01-01"},
        {"range": "90d", "channel": "email"},  # not in the buckets: every lead sorted
    ],
)
def test_medians_from_contact_buckets_equal_the_medians_of_every_lead(
    make_user, manager, query, monkeypatch
):
    from clm.filters import day_bounds, parse_filters
    from crm import contact_times

    reps = [make_user(roles.SALES_REP) for _ in range(3)]
    rng = random.Random(9)
    now = timezone.now()
    # Delays on and around bucket edges, and spread out; some leads never contacted.
    edges = [0, 59, 60, 61, 3599, 3600, 3601, 7200, 86399, 86400]
    for _ in range(90):
        captured = now - timedelta(days=rng.uniform(0.5, 170))
        lead = lead_with_journey(
            owner=rng.choice([*reps, None]),
            created_at=captured,
            touches=[{"channel_name": rng.choice(["Email", "Direct"])}],
        )
        if rng.random() < 0.85:
            seconds = rng.choice(edges) if rng.random() < 0.4 else rng.randrange(0, 6 * 86400)
            moment = min(captured + timedelta(seconds=seconds), now - timedelta(seconds=1))
            activity_log(lead=lead, kind="email", by=manager, occurred_at=moment)
    if query.get("channel") == "email":
        query = {**query, "channel": str(Channel.objects.get(name="Email").pk)}
    f = parse_filters(query)

    def counting_every_lead(*args, **kwargs):
        raise AssertionError("the medians should come from the contact buckets")

    if "channel" not in query:
        monkeypatch.setattr(contact_times, "median_by", counting_every_lead)
    got = contact_times.contact_medians(user=manager, f=f)

    start_at, end_at = day_bounds(f.start, f.end)
    before_at, _ = day_bounds(*f.previous)
    leads = Lead.objects.filter(first_contacted_at__isnull=False)
    if "channel" in query:
        leads = leads.filter(first_channel_id=int(query["channel"]))
    rows = [(lead.created_at, lead.owner_id, lead.first_contacted_at - lead.created_at)
            for lead in leads]  # fmt: skip
    now_rows = [r for r in rows if start_at <= r[0] < end_at]
    assert got.now == pytest.approx(_median([r[2] for r in now_rows]))
    assert got.before == pytest.approx(
        _median([r[2] for r in rows if before_at <= r[0] < start_at])
    )
    owners = {r[1] for r in now_rows if r[1] is not None}
    assert got.by_owner == pytest.approx(
        {o: _median([r[2] for r in now_rows if r[1] == o]) for o in owners}
    )
    assert now_rows  # the case has data to compare


def test_month_rows_that_disagree_with_their_days_are_summed_anew(rep):
    captured = at(timezone.localdate() - timedelta(days=40))
    leads = [lead_with_journey(owner=rep, created_at=captured) for _ in range(3)]
    rollups.refresh()
    month = DailyCount.objects.get(
        kind="lead", key="", monthly=True, day=captured.date().replace(day=1)
    )
    assert month.count == 3
    DailyCount.objects.filter(pk=month.pk).update(count=0)  # damaged by hand
    Lead.objects.get(pk=leads[0].pk).delete()  # would take the month row to -1
    assert_matches_a_recount()
    month = DailyCount.objects.get(
        kind="lead", key="", monthly=True, day=captured.date().replace(day=1)
    )
    assert month.count == 2
