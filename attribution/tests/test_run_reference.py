"""A full run on seeded demo data stores, to the cent, what the engine gives on the whole data.

The reference reads every journey at once and runs the pure engine in one call per milestone
with the run's global effects; the run under test goes through partitions, Celery (eager), the
bulk writes and the summary. However the run is split, read or written, every stored credit must
equal the reference, and doing it again on unchanged data must change nothing.
"""

from collections import defaultdict

import pandas as pd
import pytest
from django.core.management import call_command
from django.db.models import F, Sum

from attribution import engine, selectors, services
from attribution.models import AttributionResult, AttributionRun, AttributionSummary, CreditLedger
from campaigns.models import Channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_run(celery_eager, django_capture_on_commit_callbacks):
    call_command("seed_demo", "--leads", "250", "--seed", "8", "--no-run")

    def go(**options):
        with django_capture_on_commit_callbacks(execute=True):
            run = services.run_create(**options)
        run.refresh_from_db()
        assert run.status == AttributionRun.Status.DONE, run.error
        return run

    return go


def _reference(run):
    """Per milestone and model, the engine's credits on all journeys at once."""
    touches = selectors.journey_touches(lead_from=0, lead_to=None, cutoff=run.data_cutoff)
    conversions = selectors.journey_conversions(lead_from=0, lead_to=None, cutoff=run.data_cutoff)
    out = {}
    for milestone, conv in conversions.items():
        effects = run.effects.get(milestone, {})
        models = [m for m in run.model_names if m not in services.TWO_STAGE or m in effects]
        if conv.empty or not models:
            continue
        credits = engine.attribute_all(
            touches,
            conv,
            models,
            lookback_days=run.lookback_days,
            markov_effects=effects.get("markov"),
            shapley_values=effects.get("shapley"),
        )
        credits["day"] = credits["conversion_id"].map(conv.set_index("conversion_id")["ts"].dt.date)
        out[milestone] = credits
    return out


def _stored_results(run):
    totals = defaultdict(lambda: [0.0, 0])
    for row in AttributionResult.objects.filter(run=run).values_list(
        "model", "milestone", "channel_id", "campaign_id", "day", "conversions", "value_cents"
    ):
        totals[row[:5]][0] += row[5]
        totals[row[:5]][1] += row[6]
    return {k: (round(v[0], 9), v[1]) for k, v in totals.items()}


def _reference_results(reference):
    channel_ids = dict(Channel.objects.values_list("name", "id"))
    totals = defaultdict(lambda: [0.0, 0])
    for milestone, credits in reference.items():
        for model, channel, campaign, day, share, cents in credits[
            ["model", "channel", "campaign_id", "day", "share", "value_cents"]
        ].itertuples(index=False):
            key = (model, milestone, channel_ids[channel],
                   None if pd.isna(campaign) else int(campaign), day)  # fmt: skip
            totals[key][0] += share
            totals[key][1] += int(cents)
    return {k: (round(v[0], 9), v[1]) for k, v in totals.items()}


def _stored_ledger(run):
    return sorted(
        CreditLedger.objects.filter(run=run).values_list(
            "model", "deal_id", "touchpoint_id", "value_cents"
        ),
        key=str,
    )


def _reference_ledger(reference):
    deal = reference["deal"]
    return sorted(
        (
            (model, int(conv), None if touch < 0 else int(touch), int(cents))
            for model, conv, touch, cents in deal[
                ["model", "conversion_id", "touch_id", "value_cents"]
            ].itertuples(index=False)
        ),
        key=str,
    )


def _summary(run):
    return sorted(
        AttributionSummary.objects.filter(run=run)
        .values("model", "milestone", "channel_id", "campaign_id", "day", "monthly")
        .annotate(c=Sum("conversions"), v=Sum("value_cents"))
        .values_list("model", "milestone", "channel_id", "campaign_id", "day", "monthly", "v"),
        key=str,
    )


def test_a_full_run_stores_to_the_cent_what_the_engine_gives_on_all_journeys_at_once(demo_run):
    run = demo_run(partitions=5)
    reference = _reference(run)
    assert set(reference) == {"lead", "opportunity", "deal"}
    assert set(reference["deal"]["model"]) == set(engine.MODELS)
    stored, expected = _stored_results(run), _reference_results(reference)
    assert stored.keys() == expected.keys()
    for key, (conversions, cents) in expected.items():
        assert stored[key][1] == cents, key
        assert stored[key][0] == pytest.approx(conversions, abs=1e-6), key
    assert _stored_ledger(run) == _reference_ledger(reference)


def test_the_global_effects_are_those_of_all_journeys_at_once(demo_run):
    run = demo_run(partitions=4)
    touches = selectors.journey_touches(lead_from=0, lead_to=None, cutoff=run.data_cutoff)
    conversions = selectors.journey_conversions(lead_from=0, lead_to=None, cutoff=run.data_cutoff)
    for milestone, conv in conversions.items():
        counts = engine.markov_transition_counts(touches, conv, lookback_days=run.lookback_days)
        expected = engine.markov_removal_effects(counts).to_dict()
        assert run.effects[milestone]["markov"] == pytest.approx(expected, abs=1e-12), milestone


def test_a_second_run_or_a_refresh_on_unchanged_data_changes_nothing(demo_run):
    first = demo_run(partitions=3)
    second = demo_run(partitions=2, data_cutoff=first.data_cutoff)
    assert _stored_results(first) == _stored_results(second)
    assert _stored_ledger(first) == _stored_ledger(second)
    before = (_stored_results(second), _stored_ledger(second), _summary(second))
    rows = AttributionSummary.objects.filter(run=second).count()
    lead_id = CreditLedger.objects.filter(run=second).values_list("lead_id", flat=True).first()
    services.refresh_lead(lead_id=lead_id)
    assert (_stored_results(second), _stored_ledger(second), _summary(second)) == before
    assert AttributionSummary.objects.filter(run=second).count() == rows


def _account_reference(run):
    """As _reference, over account journeys: every deal's people from all leads at once; lead
    creation per contact."""
    touches = selectors.journey_touches(lead_from=0, lead_to=None, cutoff=run.data_cutoff)
    conversions = selectors.journey_conversions(lead_from=0, lead_to=None, cutoff=run.data_cutoff)
    members = selectors.journey_members(
        lead_from=0, lead_to=None, cutoff=run.data_cutoff, people=run.account_people
    )
    out = {}
    for milestone, conv in conversions.items():
        effects = run.effects.get(milestone, {})
        models = [m for m in run.model_names if m not in services.TWO_STAGE or m in effects]
        mine = members.loc[members["milestone"] == milestone, ["conversion_id", "lead_id"]]
        credits = engine.attribute_all(
            touches,
            conv,
            models,
            lookback_days=run.lookback_days,
            markov_effects=effects.get("markov"),
            shapley_values=effects.get("shapley"),
            members=None if milestone == "lead" else mine,
        )
        credits["day"] = credits["conversion_id"].map(conv.set_index("conversion_id")["ts"].dt.date)
        out[milestone] = credits
    return out, members


@pytest.mark.parametrize("people", AttributionRun.People.values)
def test_an_account_run_stores_what_the_engine_gives_on_all_account_journeys(demo_run, people):
    run = demo_run(partitions=5, scope="account", account_people=people)
    reference, members = _account_reference(run)
    assert len(members) > 0  # the demo's deals have buying groups
    stored, expected = _stored_results(run), _reference_results(reference)
    assert stored.keys() == expected.keys()
    for key, (conversions, cents) in expected.items():
        assert stored[key][1] == cents, key
        assert stored[key][0] == pytest.approx(conversions, abs=1e-6), key
    assert _stored_ledger(run) == _reference_ledger(reference)
    # The global effects are those of all account journeys at once.
    touches = selectors.journey_touches(lead_from=0, lead_to=None, cutoff=run.data_cutoff)
    conversions = selectors.journey_conversions(lead_from=0, lead_to=None, cutoff=run.data_cutoff)
    for milestone in ("opportunity", "deal"):
        mine = members.loc[members["milestone"] == milestone, ["conversion_id", "lead_id"]]
        counts = engine.markov_transition_counts(
            touches, conversions[milestone], lookback_days=run.lookback_days, members=mine
        )
        expected = engine.markov_removal_effects(counts).to_dict()
        assert run.effects[milestone]["markov"] == pytest.approx(expected, abs=1e-12), milestone


def test_both_scopes_conserve_every_deal_under_every_model_and_differ(demo_run):
    contact = demo_run(partitions=3)
    account = demo_run(partitions=4, scope="account", data_cutoff=contact.data_cutoff)
    deals = selectors.journey_conversions(lead_from=0, lead_to=None, cutoff=contact.data_cutoff)
    won = dict(deals["deal"][["conversion_id", "value_cents"]].itertuples(index=False))
    assert len(won) > 3
    for run in (contact, account):
        sums = (
            CreditLedger.objects.filter(run=run)
            .values_list("model", "deal_id")
            .annotate(cents=Sum("value_cents"))
        )
        assert {(m, d): c for m, d, c in sums} == {
            (m, d): c for m in engine.MODELS for d, c in won.items()
        }, run.scope
        deals = AttributionResult.objects.filter(run=run, milestone="deal")
        for model in engine.MODELS:
            total = deals.filter(model=model).aggregate(c=Sum("conversions"))["c"]
            assert total == pytest.approx(len(won)), (run.scope, model)
    # Other people's touches count in account scope: the credits per channel move.
    assert _stored_results(contact) != _stored_results(account)
    others = CreditLedger.objects.filter(run=account).exclude(touch_lead_id=F("lead_id"))
    assert others.exclude(touch_lead_id=None).exists()
    assert (
        not CreditLedger.objects.filter(run=contact)
        .exclude(touch_lead_id=F("lead_id"))
        .exclude(touch_lead_id=None)
        .exists()
    )


def test_an_account_run_again_or_refreshed_on_unchanged_data_changes_nothing(demo_run):
    first = demo_run(partitions=3, scope="account")
    second = demo_run(partitions=2, scope="account", data_cutoff=first.data_cutoff)
    assert _stored_results(first) == _stored_results(second)
    assert _stored_ledger(first) == _stored_ledger(second)
    before = (_stored_results(second), _stored_ledger(second), _summary(second))
    rows = AttributionSummary.objects.filter(run=second).count()
    for lead_id in set(
        CreditLedger.objects.filter(run=second)
        .exclude(touch_lead_id=F("lead_id"))
        .values_list("lead_id", flat=True)[:5]
    ):
        services.refresh_lead(lead_id=lead_id)
    assert (_stored_results(second), _stored_ledger(second), _summary(second)) == before
    assert AttributionSummary.objects.filter(run=second).count() == rows
