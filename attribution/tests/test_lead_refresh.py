"""A deal's refresh re-credits only its lead's rows, and the result is exactly what recomputing
the lead's whole partition gives (and a full rerun with the same Markov/Shapley effects):
results, summary (day and month rows), ledger and per-lead credits, for every model and both
scopes. A refresh with nothing new writes nothing."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from attribution import engine, services
from attribution.models import (
    AttributionResult,
    AttributionRun,
    AttributionSummary,
    CreditLedger,
    LeadCredit,
    LeadMark,
    RunPartition,
)
from attribution.tests.factories import T0, lead_with_journey, won_deal
from campaigns.models import Campaign, Channel
from crm.models import Account, AccountContact, Deal, DealContact, PipelineStage
from leads.models import Touchpoint

pytestmark = pytest.mark.django_db

SCOPES = [AttributionRun.Scope.CONTACT, AttributionRun.Scope.ACCOUNT]


@pytest.fixture
def run_now(django_capture_on_commit_callbacks, celery_eager):
    def go(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            run = services.run_create(**kwargs)
        run.refresh_from_db()
        assert run.status == AttributionRun.Status.DONE, run.error
        return run

    return go


@pytest.fixture
def data():
    """Contacts with journeys and deals, and an account whose deal's buying group spans the
    partitions (Ben first, Ann and Cat later), so account scope reads other leads' touches."""
    ben = lead_with_journey("ben@acme.io", ["Paid Social", "Email"], start=T0)
    a = lead_with_journey("a@x.io", ["Paid Search", "Email", "Organic Search"])
    b = lead_with_journey("b@x.io", ["Paid Social"], start=T0 + timedelta(days=3))
    ann = lead_with_journey("ann@acme.io", ["Paid Search"], start=T0 + timedelta(days=2))
    c = lead_with_journey("c@x.io", ["Paid Search", "Direct"], start=T0 + timedelta(days=1))
    lead_with_journey("d@x.io", ["Display", "Referral"])  # never buys: a null path
    cat = lead_with_journey("cat@acme.io", ["Paid Search", "Direct"], start=T0 + timedelta(days=5))
    dan = lead_with_journey("dan@acme.io", ["Display"], start=T0 + timedelta(days=4))
    # Some touches of a campaign, so a lead's rows mix campaigns and none.
    for lead, channel in ((a, "Email"), (ann, "Paid Search")):
        campaign = Campaign.objects.create(
            name=f"{channel} launch", channel=Channel.objects.get(name=channel),
            utm_campaign=f"{channel.lower()}-launch",
        )  # fmt: skip
        lead.touchpoints.filter(channel__name=channel).update(campaign=campaign)
    deals = {
        "a": won_deal(a, "1000.00"),
        "b": won_deal(b, "333.33", days_after=40),
        "c": won_deal(c, "0.01"),
        "ann": won_deal(ann, "1000.01"),
    }
    account = Account.objects.create(name="Acme", name_key="acme")
    for lead in (ann, ben, cat, dan):
        AccountContact.objects.create(lead=lead, account=account, matched_by="domain")
    deals["ann"].account = account
    deals["ann"].save()
    DealContact.objects.create(deal=deals["ann"], lead=ann, role="decision_maker", is_primary=True)
    DealContact.objects.create(deal=deals["ann"], lead=ben, role="champion")
    leads = {"a": a, "b": b, "c": c, "ann": ann, "ben": ben, "cat": cat, "dan": dan}
    return {"leads": leads, "deals": deals}


def _win_another(data):
    return won_deal(data["leads"]["c"], "250.00", days_after=3).lead_id


def _lose(data):
    deal = data["deals"]["a"]
    deal.stage = PipelineStage.objects.filter(is_lost=True).first()
    deal.save()
    return deal.lead_id


def _change_amount(data):
    deal = data["deals"]["ann"]
    deal.amount = Decimal("777.77")
    deal.save()
    return deal.lead_id


def _move_dates(data):
    deal = data["deals"]["b"]
    deal.opportunity_created_at -= timedelta(days=2)
    deal.closed_at -= timedelta(days=20)  # another day and another month
    deal.save()
    return deal.lead_id


def _delete(data):
    deal = data["deals"]["c"]
    deal.delete()
    return deal.lead_id


def _grow_the_group(data):
    DealContact.objects.create(deal=data["deals"]["ann"], lead=data["leads"]["cat"], role="user")
    return data["deals"]["ann"].lead_id


def _backdated_touch(data):
    """A touch imported late, dated before the lead was created: its lead-created credit moves
    (no deal's doing), so the refresh recomputes the partition."""
    lead = data["leads"]["c"]
    Touchpoint.objects.create(
        kind=Touchpoint.Kind.OFFLINE, occurred_at=lead.created_at - timedelta(hours=5), lead=lead,
        channel=Channel.objects.get(name="Email"),
    )  # fmt: skip
    return lead.pk


CHANGES = {
    "won": _win_another,
    "lost": _lose,
    "amount": _change_amount,
    "dates": _move_dates,
    "deleted": _delete,
    "buying group": _grow_the_group,
    "backdated touch": _backdated_touch,
}


def _summed(rows, key):
    out = defaultdict(lambda: [0.0, 0])
    for row in rows:
        k = tuple(row[f] for f in key)
        out[k][0] += row["conversions"]
        out[k][1] += row["value_cents"]
    return {k: v for k, v in out.items() if v[1] or abs(v[0]) > 1e-9}


KEY = ("model", "milestone", "channel_id", "campaign_id", "day")


def _state(run):
    """Everything a run stores per credit, without its own ids."""
    fields = (*KEY, "conversions", "value_cents")
    summary = AttributionSummary.objects.filter(run=run)
    ledger = CreditLedger.objects.filter(run=run).values_list(
        "model", "deal_id", "lead_id", "touch_lead_id", "touchpoint_id", "channel_id",
        "campaign_id", "touch_at", "position", "journey_length", "share", "value_cents",
    )  # fmt: skip
    credits = LeadCredit.objects.filter(run=run).values_list(
        "lead_id", "conversion_id", "model", "milestone", "channel_id", "campaign_id", "day",
        "conversions", "value_cents",
    )  # fmt: skip
    return {
        "results": _summed(AttributionResult.objects.filter(run=run).values(*fields), KEY),
        "days": _summed(summary.filter(monthly=False).values(*fields), KEY),
        "months": _summed(summary.filter(monthly=True).values(*fields), KEY),
        "ledger": sorted(ledger, key=repr),
        "lead credits": sorted(credits, key=repr),
    }


def _assert_same(got, expected):
    """Cents and ledger and per-lead rows exactly; summed conversions (fractions of one,
    summed in another order) to 1e-9."""
    assert got["ledger"] == expected["ledger"]
    assert got["lead credits"] == expected["lead credits"]
    for name in ("results", "days", "months"):
        assert got[name].keys() == expected[name].keys(), name
        for key, (conversions, cents) in expected[name].items():
            assert got[name][key][1] == cents, (name, key)
            assert got[name][key][0] == pytest.approx(conversions, abs=1e-9), (name, key)


def _partition(run, lead_id):
    return (
        RunPartition.objects.filter(run=run, lead_id_from__lte=lead_id)
        .order_by("-lead_id_from")
        .first()
    )


def _rerun_with_effects(run, cutoff):
    """A full rerun at `cutoff` that keeps `run`'s Markov and Shapley effects."""
    again = services.run_create(
        models=run.model_names, partitions=3, scope=run.scope, data_cutoff=cutoff, start=False
    )
    AttributionRun.objects.filter(pk=again.pk).update(effects=run.effects)
    services.batch_credit(partition_ids=list(again.partitions.values_list("pk", flat=True)))
    return services.run_finish(run_id=again.pk)


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize("change", CHANGES)
def test_a_lead_refresh_equals_its_partition_recomputed_and_a_full_rerun(
    data, run_now, scope, change
):
    per_lead = run_now(partitions=3, scope=scope)
    whole = run_now(partitions=3, scope=scope)
    assert per_lead.effects == whole.effects
    before = _state(per_lead)
    lead_id = CHANGES[change](data)
    cutoff = timezone.now()

    part = _partition(per_lead, lead_id)
    assert part.lead_credits
    written = services.lead_credit_refresh(run=per_lead, part=part, lead_id=lead_id, cutoff=cutoff)
    services.partition_credit(partition_id=_partition(whole, lead_id).pk, cutoff=cutoff)

    after = _state(per_lead)
    if change == "buying group" and scope == AttributionRun.Scope.CONTACT:
        # Contact scope credits a deal over its lead's touches alone: nothing moved.
        assert after == before
        assert written["lead_credits"] + written["ledger"] + written["summary"] == 0
    elif change == "backdated touch":
        assert after != before
        assert written["partition"] == part.pk  # recomputed whole: no old lead-created share
    else:
        assert after != before
        assert "partition" not in written
        assert written["lead_credits"] + written["ledger"] + written["summary"] > 0
    _assert_same(after, _state(whole))
    _assert_same(after, _state(_rerun_with_effects(per_lead, cutoff)))
    # Every model still conserves every won deal, to the cent.
    won = {
        d.pk: int(d.amount * 100)
        for d in Deal.objects.filter(stage__is_won=True, closed_at__lte=cutoff)
    }
    for model in engine.MODELS:
        cents = sum(
            cents for (m, milestone, *_), (_, cents) in after["results"].items()
            if m == model and milestone == "deal"
        )  # fmt: skip
        assert cents == sum(won.values()), model

    # Again, with nothing new: nothing is written.
    again = services.lead_credit_refresh(run=per_lead, part=part, lead_id=lead_id, cutoff=cutoff)
    assert (again["lead_credits"], again["ledger"], again["results"], again["summary"]) == (
        0, 0, 0, 0,
    )  # fmt: skip
    assert _state(per_lead) == after


@pytest.mark.parametrize("scope", SCOPES)
def test_refreshing_every_lead_after_a_full_run_changes_no_row(data, run_now, scope):
    run = run_now(partitions=3, scope=scope)
    rows = {
        table: table.objects.filter(run=run).count()
        for table in (AttributionResult, AttributionSummary, CreditLedger, LeadCredit)
    }
    before = _state(run)
    for lead_id in sorted(lead.pk for lead in data["leads"].values()):
        written = services.lead_credit_refresh(
            run=run, part=_partition(run, lead_id), lead_id=lead_id, cutoff=timezone.now()
        )
        assert (written["lead_credits"], written["ledger"], written["summary"]) == (0, 0, 0)
    assert _state(run) == before
    assert rows == {
        table: table.objects.filter(run=run).count()
        for table in (AttributionResult, AttributionSummary, CreditLedger, LeadCredit)
    }


def test_the_refresh_reads_and_writes_only_its_leads_rows(data, run_now):
    run = run_now(partitions=1, models=["linear"])
    a, c = data["leads"]["a"], data["leads"]["c"]
    # A mark on another lead of the same partition: recomputing the partition would rewrite it.
    other = LeadCredit.objects.filter(run=run, lead_id=a.pk, milestone="deal").first()
    LeadCredit.objects.filter(pk=other.pk).update(value_cents=other.value_cents + 1)
    a_ledger = list(CreditLedger.objects.filter(run=run, lead_id=a.pk).values_list("pk", flat=True))
    won_deal(c, "250.00", days_after=3)
    services.refresh_lead(lead_id=c.pk)
    assert LeadCredit.objects.get(pk=other.pk).value_cents == other.value_cents + 1
    assert list(
        CreditLedger.objects.filter(run=run, lead_id=a.pk).values_list("pk", flat=True)
    ) == (a_ledger)
    assert (
        sum(
            CreditLedger.objects.filter(run=run, lead_id=c.pk).values_list("value_cents", flat=True)
        )
        == 25_000 + 1
    )


def test_a_run_stored_before_per_lead_credits_recomputes_the_partition_once(data, run_now):
    run = run_now(partitions=3, models=["linear", "markov"])
    c = data["leads"]["c"]
    part = _partition(run, c.pk)
    # As a run made before LeadCredit existed: no per-lead rows, the flag unset.
    LeadCredit.objects.filter(run=run).delete()
    LeadMark.objects.filter(run=run).delete()
    RunPartition.objects.filter(run=run).update(lead_credits=False)
    won_deal(c, "250.00", days_after=3)
    services.refresh_lead(lead_id=c.pk)
    part.refresh_from_db()
    assert part.lead_credits
    assert LeadCredit.objects.filter(run=run, lead_id=c.pk).exists()
    deal_cents = sum(
        AttributionResult.objects.filter(run=run, model="linear", milestone="deal").values_list(
            "value_cents", flat=True
        )
    )
    assert deal_cents == 100_000 + 33_333 + 1 + 100_001 + 25_000
