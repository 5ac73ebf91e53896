"""Attribution runs through the services and Celery (eager here), on stored data."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from attribution import engine, services
from attribution.models import AttributionResult, AttributionRun, AttributionSummary, CreditLedger
from attribution.tests.factories import lead_with_journey, won_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_now(django_capture_on_commit_callbacks, celery_eager):
    """Create a run and let its (eager) Celery work run, as after a real commit."""

    def go(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            run = services.run_create(**kwargs)
        run.refresh_from_db()
        return run

    return go


@pytest.fixture
def journeys():
    a = lead_with_journey("a@x.io", ["Paid Search", "Email", "Organic Search"])
    b = lead_with_journey("b@x.io", ["Paid Social"])
    c = lead_with_journey("c@x.io", ["Paid Search", "Direct"])
    lead_with_journey("d@x.io", ["Display", "Referral"])  # never buys: a null path
    deals = [won_deal(a, "1000.00"), won_deal(b, "333.33"), won_deal(c, "0.01")]
    return {"leads": [a, b, c], "deals": deals}


def _totals(run, model, milestone):
    return AttributionResult.objects.filter(run=run, model=model, milestone=milestone).aggregate(
        conversions=Sum("conversions"), cents=Sum("value_cents")
    )


def test_a_full_run_of_every_model_conserves_leads_and_revenue_to_the_cent(journeys, run_now):
    run = run_now(partitions=2)
    run.refresh_from_db()
    assert run.status == "done", run.error
    for model in engine.MODELS:
        leads = _totals(run, model, "lead")
        assert leads["conversions"] == pytest.approx(4.0), model
        deals = _totals(run, model, "deal")
        assert deals["conversions"] == pytest.approx(3.0), model
        assert deals["cents"] == 100_000 + 33_333 + 1, model
        for deal in journeys["deals"]:
            ledger = CreditLedger.objects.filter(run=run, model=model, deal=deal)
            assert ledger.aggregate(s=Sum("value_cents"))["s"] == int(deal.amount * 100), model


def test_linear_credits_split_a_deal_evenly_over_its_touches(journeys, run_now):
    run = run_now(models=["linear", "first_touch"], partitions=1)
    a_deal = journeys["deals"][0]
    linear = CreditLedger.objects.filter(run=run, model="linear", deal=a_deal).order_by("position")
    assert [row.value_cents for row in linear] == [33_334, 33_333, 33_333]
    assert [row.channel.name for row in linear] == ["Paid Search", "Email", "Organic Search"]
    first = CreditLedger.objects.get(run=run, model="first_touch", deal=a_deal)
    assert (first.channel.name, first.value_cents, first.share) == ("Paid Search", 100_000, 1.0)


def _by_key(run, rows=AttributionResult, monthly=False):
    """Conversions and cents per key; summary: its day rows (or its month rows)."""
    out = defaultdict(lambda: [0.0, 0])
    stored = rows.objects.filter(run=run)
    if rows is AttributionSummary:
        stored = stored.filter(monthly=monthly)
    for r in stored:
        key = (r.model, r.milestone, r.channel_id, r.campaign_id, r.day)
        out[key][0] += r.conversions
        out[key][1] += r.value_cents
    return {k: (round(v[0], 9), v[1]) for k, v in out.items() if v[1] or abs(v[0]) > 1e-9}


def _by_month(by_key):
    """Day keys summed per month (the day of a month key is the 1st)."""
    out = defaultdict(lambda: [0.0, 0])
    for (model, milestone, channel, campaign, day), (conversions, cents) in by_key.items():
        key = (model, milestone, channel, campaign, day.replace(day=1))
        out[key][0] += conversions
        out[key][1] += cents
    return {k: (round(v[0], 9), v[1]) for k, v in out.items() if v[1] or abs(v[0]) > 1e-9}


def test_one_partition_or_four_give_the_same_numbers(journeys, run_now):
    one = run_now(partitions=1)
    four = run_now(partitions=4)
    assert one.partitions.count() == 1
    assert four.partitions.count() == 4
    assert _by_key(one) == _by_key(four)


def test_a_process_keeps_two_tasks_worth_of_journeys_whatever_the_number_of_tasks(
    journeys, run_now, settings, monkeypatch
):
    """A run of many small tasks in one process: each task's frames are kept for its credit
    stage only while two tasks' worth of touches are held (memory bounded by the task size,
    not the number of tasks); the numbers are those of one partition."""
    one = run_now(partitions=1)
    settings.CLM_ATTRIBUTION_TOUCHES_PER_TASK = 2
    held: list[int] = []
    keep = services._keep_frames

    def counted(key, frames):
        keep(key, frames)
        held.append(sum(len(kept.touches) for kept in services._FRAMES.values()))

    monkeypatch.setattr(services, "_keep_frames", counted)
    many = run_now(partitions=4)
    assert many.partitions.count() == 4
    assert len(held) == 4  # each task's count stage kept its frames
    assert max(held) <= 2 * 2
    assert _by_key(one) == _by_key(many)
    services._FRAMES.clear()


def test_a_run_is_immutable_once_created(journeys, run_now):
    run = run_now(models=["linear"], partitions=1)
    run.model_names = ["first_touch"]
    with pytest.raises(ValidationError, match="immutable"):
        run.save()


def test_bad_run_definitions_are_refused():
    with pytest.raises(ValueError, match="unknown model"):
        services.run_create(models=["magic"])
    with pytest.raises(ValueError):
        services.run_create(models=["time_decay"], params={"time_decay": {"half_life": 3}})


def test_a_changed_deal_refreshes_only_its_partition_with_the_new_amount(journeys, run_now):
    run = run_now(models=["linear"], partitions=3)
    deal = journeys["deals"][1]
    deal.amount = Decimal("500.00")
    deal.save()
    services.refresh_lead(lead_id=deal.lead_id)
    assert _totals(run, "linear", "deal")["cents"] == 100_000 + 50_000 + 1
    assert CreditLedger.objects.filter(run=run, deal=deal).get().value_cents == 50_000


def test_two_full_runs_never_hold_the_lock_together(journeys, run_now):
    first = services.run_create(models=["linear"], start=False)
    second = services.run_create(models=["linear"], start=False)
    assert services.run_acquire_lock(first)
    assert services.run_acquire_lock(first)  # re-entrant for the holder (a redelivered task)
    assert not services.run_acquire_lock(second)
    services.run_release_lock(first)
    assert services.run_acquire_lock(second)
    services.run_release_lock(second)


def test_run_attribution_command_prints_progress_and_roi(journeys, capsys, celery_eager):
    from django.core.management import call_command

    call_command("run_attribution", "--model", "linear", "--partitions", "2")
    out = capsys.readouterr().out
    assert "100%" in out
    assert "ROI by channel (linear)" in out
    assert "Paid Search" in out
    assert AttributionRun.objects.get().status == "done"


def test_closing_a_deal_in_the_crm_refreshes_its_lead_credits_after_commit(
    journeys, run_now, django_capture_on_commit_callbacks, rep
):
    from crm.services import deal_close, deal_create

    run = run_now(models=["linear"], partitions=2)
    lead = journeys["leads"][2]
    lead.owner = rep
    lead.save()
    before = _totals(run, "linear", "deal")["cents"]
    with django_capture_on_commit_callbacks(execute=True):
        deal = deal_create(lead=lead, name="Upsell", by=rep, amount=Decimal("250.00"))
        deal_close(deal=deal, won=True, by=rep)
    assert _totals(run, "linear", "deal")["cents"] == before + 25_000
    ledger = CreditLedger.objects.filter(run=run, deal=deal)
    assert ledger.aggregate(s=Sum("value_cents"))["s"] == 25_000


def test_the_summary_that_dashboards_read_sums_the_partitions_exactly(journeys, run_now):
    run = run_now(partitions=3)
    assert _by_key(run, AttributionSummary) == _by_key(run)
    assert _by_key(run, AttributionSummary, monthly=True) == _by_month(_by_key(run))
    # Fewer rows: one per key, not one per key and partition.
    days = AttributionSummary.objects.filter(run=run, monthly=False)
    assert days.count() <= run.results.count()


def test_a_refresh_moves_the_summary_by_exactly_what_changed(journeys, run_now, rep):
    from crm.services import deal_close, deal_create

    run = run_now(partitions=2)
    summary_rows = AttributionSummary.objects.filter(run=run, monthly=False).count()
    changed = journeys["deals"][1]
    changed.amount = Decimal("500.00")
    changed.save()
    services.refresh_lead(lead_id=changed.lead_id)
    lead = journeys["leads"][0]
    lead.owner = rep
    lead.save()
    deal_close(deal=deal_create(lead=lead, name="More", by=rep, amount=Decimal("1.23")), won=True,
               by=rep)  # fmt: skip
    services.refresh_lead(lead_id=lead.pk)
    services.refresh_lead(lead_id=lead.pk)  # nothing new: adds no summary row
    assert _by_key(run, AttributionSummary) == _by_key(run)
    assert _by_key(run, AttributionSummary, monthly=True) == _by_month(_by_key(run))
    for model in engine.MODELS:
        for monthly in (False, True):
            cents = AttributionSummary.objects.filter(
                run=run, model=model, milestone="deal", monthly=monthly
            )
            assert cents.aggregate(s=Sum("value_cents"))["s"] == 100_000 + 50_000 + 1 + 123
    # Only the moved keys got a difference row.
    assert AttributionSummary.objects.filter(
        run=run, monthly=False
    ).count() - summary_rows < 10 * len(engine.MODELS)


def test_summary_difference_is_new_minus_old_and_drops_unmoved_keys():
    import datetime

    import pandas as pd

    def frame(rows):
        return pd.DataFrame(rows, columns=services.RESULT_COLUMNS)

    day = datetime.date(2026, 1, 5)
    old = frame([
        (1, 9, "linear", "deal", 3, None, day, 0.5, 1000),
        (1, 9, "linear", "deal", 4, 7, day, 0.5, 1000),
    ])  # fmt: skip
    new = frame([
        (1, 9, "linear", "deal", 3, None, day, 0.5, 1000),
        (1, 9, "linear", "deal", 4, 7, day, 0.25, 400),
        (1, 9, "linear", "deal", 5, None, day, 0.25, 600),
    ])  # fmt: skip
    diff = services.summary_difference(old, new).sort_values("channel_id")
    assert diff[["channel_id", "conversions", "value_cents"]].values.tolist() == [
        [4, -0.25, -600],
        [5, 0.25, 600],
    ]


def _stored(run):
    """A run's results (per partition index), ledger and effects without its own ids."""
    index = dict(run.partitions.values_list("pk", "index"))
    results = sorted(
        (index[p], m, s, ch, ca, d, round(c, 9), v)
        for p, m, s, ch, ca, d, c, v in AttributionResult.objects.filter(run=run).values_list(
            "partition_id", "model", "milestone", "channel_id", "campaign_id", "day",
            "conversions", "value_cents",
        )
    )  # fmt: skip
    ledger = sorted(
        (index[row[0]], *row[1:-2], round(row[-2], 9), row[-1])
        for row in CreditLedger.objects.filter(run=run).values_list(
            "partition_id", "model", "deal_id", "lead_id", "touch_lead_id", "touchpoint_id",
            "channel_id", "campaign_id", "touch_at", "position", "journey_length", "share",
            "value_cents",
        )
    )  # fmt: skip
    return results, ledger, run.effects


@pytest.mark.parametrize("at_once", [services.SUMMARY_ROWS_AT_ONCE, 1])
def test_the_summary_is_summed_from_the_tasks_rows_and_equals_the_results(
    journeys, run_now, settings, monkeypatch, at_once
):
    # All partial sums added at once, or each added to the running total as it is read.
    monkeypatch.setattr(services, "SUMMARY_ROWS_AT_ONCE", at_once)
    settings.CLM_ATTRIBUTION_PARTITIONS = 2  # two tasks a stage, each a partial sum
    run = run_now(partitions=4)
    assert len(services.run_batches(run=run)) == 2
    assert _by_key(run, AttributionSummary) == _by_key(run)
    assert _by_key(run, AttributionSummary, monthly=True) == _by_month(_by_key(run))
    # One row per key, and the tasks' partial sums are gone once the run is done.
    keys = AttributionSummary.objects.filter(run=run, monthly=False)
    assert keys.count() == len({tuple(k) for k in keys.values_list(*services.SUMMARY_KEY)})
    assert list(run.partitions.values_list("summary", flat=True)) == [{}] * 4


def test_a_partition_credited_without_its_partial_sum_makes_the_finish_read_the_results(
    journeys, celery_eager
):
    run = services.run_create(partitions=3, start=False)
    services.run_mark_running(run=run)
    for batch in services.run_batches(run=run):
        services.batch_count(partition_ids=batch)
    services.run_reduce_effects(run_id=run.pk)
    for batch in services.run_batches(run=run):
        services.batch_credit(partition_ids=batch)
    run.partitions.filter(index=0).update(summary={})  # as if credited by an older worker
    assert services.summary_from_partials(run=run) is None
    services.run_finish(run_id=run.pk)
    assert _by_key(run, AttributionSummary) == _by_key(run)
    assert _by_key(run, AttributionSummary, monthly=True) == _by_month(_by_key(run))


def test_a_rerun_on_unchanged_data_changes_nothing(journeys, run_now):
    first = run_now(partitions=2)
    second = run_now(partitions=2, data_cutoff=first.data_cutoff)
    assert _stored(second) == _stored(first)
    assert _by_key(second, AttributionSummary) == _by_key(first, AttributionSummary)
    monthly = {"rows": AttributionSummary, "monthly": True}
    assert _by_key(second, **monthly) == _by_key(first, **monthly)
    # A redelivered credit task (before the finish) replaces its rows and its partial sum:
    # the finished run counts them once.
    before = _stored(second)
    AttributionRun.objects.filter(pk=second.pk).update(status=AttributionRun.Status.RUNNING)
    for batch in services.run_batches(run=second):
        services.batch_credit(partition_ids=batch)
    services.run_finish(run_id=second.pk)
    second.refresh_from_db()
    assert _stored(second) == before
    assert _by_key(second, AttributionSummary) == _by_key(first, AttributionSummary)
