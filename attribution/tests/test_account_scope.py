"""Account-scoped attribution: a deal is credited over the touches of everyone who buys it.

The three-contact account below is credited by hand under every model (the numbers in the
comments are worked out from the documented rules, not by running the engine), through a real
run whose partitions put each contact in a partition of their own.
"""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum

from attribution import engine, services
from attribution.models import AttributionResult, AttributionRun, CreditLedger
from attribution.tests.factories import T0, lead_with_journey, won_deal
from crm.models import Account, AccountContact, DealContact

pytestmark = pytest.mark.django_db

ACCOUNT = AttributionRun.Scope.ACCOUNT


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
def acme():
    """Acme buys one deal of $1,000.01 (100,001 cents) from Ann, with Ben and Cat in its group.

    Touches (days after T0; the last touch of each person created them as a lead):
      day 0 Paid Social (Ben)   day 1 Email (Ben, lead)   day 2 Paid Search (Ann, lead)
      day 5 Paid Search (Cat)   day 6 Direct (Cat, lead)
    The opportunity opens on day 3 (after Ann's touch) and the deal is won on day 13.
    Dan works at Acme too but is not in the buying group: day 4 Display.
    """
    ben = lead_with_journey("ben@acme.io", ["Paid Social", "Email"], start=T0)
    ann = lead_with_journey("ann@acme.io", ["Paid Search"], start=T0 + timedelta(days=2))
    cat = lead_with_journey("cat@acme.io", ["Paid Search", "Direct"], start=T0 + timedelta(days=5))
    dan = lead_with_journey("dan@acme.io", ["Display"], start=T0 + timedelta(days=4))
    deal = won_deal(ann, "1000.01")  # opened day 3, won day 13
    account = Account.objects.create(name="Acme", name_key="acme")
    for lead in (ann, ben, cat, dan):
        AccountContact.objects.create(lead=lead, account=account, matched_by="domain")
    deal.account = account
    deal.save()
    DealContact.objects.create(deal=deal, lead=ann, role="decision_maker", is_primary=True)
    DealContact.objects.create(deal=deal, lead=ben, role="champion")
    DealContact.objects.create(deal=deal, lead=cat, role="user")
    return {"ann": ann, "ben": ben, "cat": cat, "dan": dan, "deal": deal, "account": account}


# Cents per touch of the account journey, in time order (Ben, Ben, Ann, Cat, Cat), each
# split of 100,001 cents by the largest remainder (ties to the earlier touch).
BY_HAND = {
    "first_touch": [100_001, 0, 0, 0, 0],
    "last_touch": [0, 0, 0, 0, 100_001],
    # The last touch that is not Direct: Cat's Paid Search.
    "last_non_direct": [0, 0, 0, 100_001, 0],
    # 20,000.2 each; the one cent left goes to the first touch.
    "linear": [20_001, 20_000, 20_000, 20_000, 20_000],
    # 2^(-age/7) with ages 6, 5, 4, 1, 0 days before the freshest touch: shares .147597,
    # .162960, .179922, .242158, .267364 -> 14759.81, 16296.16, 17992.41, 24215.99, 26736.62;
    # 3 cents left go to the largest remainders (.99, .81, .62).
    "time_decay": [14_760, 16_296, 17_992, 24_216, 26_737],
    # 40 / 20 spread over the 3 middle touches / 40: 40000.4, 6666.73 x3, 40000.4; 3 cents left
    # go to the middle touches (.73 > .4).
    "position_based": [40_000, 6_667, 6_667, 6_667, 40_000],
    # First (Ben's Paid Social) 30, lead creation (the earliest flagged touch: Ben's Email) 30,
    # opportunity (the last touch by day 3: Ann's Paid Search) 30, the rest (Cat's) 5 each.
    "w_shaped": [30_001, 30_000, 30_000, 5_000, 5_000],
    # As W-shaped plus the last touch (Cat's Direct) 22.5 each, the rest (Cat's Paid Search) 10.
    "full_path": [22_501, 22_500, 22_500, 10_000, 22_500],
    # One converting journey and no null path: removing any of its four channels loses the one
    # conversion (removal effect 1 each) and each is a quarter of the Shapley value. A channel's
    # quarter is split over its touches: Paid Search's two touches get 12.5 each.
    "markov": [25_001, 25_000, 12_500, 12_500, 25_000],
    "shapley": [25_001, 25_000, 12_500, 12_500, 25_000],
}


def _ledger(run, model, deal):
    rows = CreditLedger.objects.filter(run=run, model=model, deal=deal).order_by("position")
    return list(rows)


def test_a_three_contact_account_is_credited_by_hand_under_every_model(acme, run_now):
    run = run_now(scope=ACCOUNT, partitions=4)
    assert run.partitions.count() == 4  # Ben, Ann, Cat and Dan each in a partition of their own
    ann, ben, cat = acme["ann"], acme["ben"], acme["cat"]
    for model in engine.MODELS:
        ledger = _ledger(run, model, acme["deal"])
        cents = [0] * 5
        for row in ledger:
            cents[row.position - 1] = row.value_cents
        if model in ("first_touch", "last_touch", "last_non_direct"):
            # One row: the credited touch alone; its place is 1 of 1.
            assert len(ledger) == 1, model
            expected = sum(BY_HAND[model])
            assert ledger[0].value_cents == expected, model
            continue
        assert cents == BY_HAND[model], model
        assert [row.touch_lead_id for row in ledger] == [ben.pk, ben.pk, ann.pk, cat.pk, cat.pk]
        assert {row.lead_id for row in ledger} == {ann.pk}  # the deal's lead, as in contact scope
        assert [row.channel.name for row in ledger] == [
            "Paid Social", "Email", "Paid Search", "Paid Search", "Direct",
        ]  # fmt: skip
        assert sum(cents) == 100_001
    single = {m: _ledger(run, m, acme["deal"])[0] for m in ("first_touch", "last_touch")}
    assert (single["first_touch"].channel.name, single["first_touch"].touch_lead_id) == (
        "Paid Social", ben.pk,
    )  # fmt: skip
    assert (single["last_touch"].channel.name, single["last_touch"].touch_lead_id) == (
        "Direct", cat.pk,
    )  # fmt: skip
    lnd = _ledger(run, "last_non_direct", acme["deal"])[0]
    assert (lnd.channel.name, lnd.touch_lead_id, lnd.touch_at) == (
        "Paid Search", cat.pk, T0 + timedelta(days=5),
    )  # fmt: skip


def _per_channel(run, model, milestone):
    rows = (
        AttributionResult.objects.filter(run=run, model=model, milestone=milestone)
        .values_list("channel__name")
        .annotate(c=Sum("conversions"), v=Sum("value_cents"))
    )
    return {name: (round(c, 6), v) for name, c, v in rows}


def test_the_opportunity_is_credited_over_the_group_and_lead_creation_stays_per_contact(
    acme, run_now
):
    run = run_now(scope=ACCOUNT, models=["linear", "first_touch"], partitions=4)
    # By day 3 the group had touched three times: Ben's two and Ann's one; 100,001 / 3.
    assert _per_channel(run, "linear", "opportunity") == {
        "Paid Social": (0.333333, 33_334),
        "Email": (0.333333, 33_334),
        "Paid Search": (0.333333, 33_333),
    }
    # Each person's own creation is theirs alone: Ben's first touch was Paid Social, Ann's and
    # Cat's Paid Search, Dan's Display, in both scopes.
    expected = {"Paid Social": (1.0, 0), "Paid Search": (2.0, 0), "Display": (1.0, 0)}
    assert _per_channel(run, "first_touch", "lead") == expected
    contact = run_now(models=["first_touch"], partitions=4)
    assert _per_channel(contact, "first_touch", "lead") == expected


def test_the_whole_account_setting_counts_people_outside_the_buying_group(acme, run_now):
    group = run_now(scope=ACCOUNT, models=["linear"], partitions=2)
    everyone = run_now(
        scope=ACCOUNT, account_people=AttributionRun.People.ACCOUNT, models=["linear"]
    )
    assert "Display" not in _per_channel(group, "linear", "deal")
    # Dan's Display (day 4) joins: six touches, 100,001 / 6 = 16,666.83 each.
    ledger = _ledger(everyone, "linear", acme["deal"])
    assert [row.channel.name for row in ledger] == [
        "Paid Social", "Email", "Paid Search", "Display", "Paid Search", "Direct",
    ]  # fmt: skip
    assert [row.value_cents for row in ledger] == [16_667, 16_667, 16_667, 16_667, 16_667, 16_666]
    assert ledger[3].touch_lead_id == acme["dan"].pk


def test_contact_scope_credits_the_deal_lead_alone(acme, run_now):
    run = run_now(models=["linear"], partitions=3)
    ledger = _ledger(run, "linear", acme["deal"])
    assert [(row.channel.name, row.value_cents) for row in ledger] == [("Paid Search", 100_001)]
    assert ledger[0].touch_lead_id == ledger[0].lead_id == acme["ann"].pk


def test_a_deal_without_account_or_group_is_its_lead_journey_in_both_scopes(run_now):
    solo = lead_with_journey("solo@x.io", ["Paid Search", "Email", "Organic Search"])
    other = lead_with_journey("other@x.io", ["Display", "Referral"])
    deals = [won_deal(solo, "999.99"), won_deal(other, "10.00")]
    contact = run_now(partitions=2)
    account = run_now(scope=ACCOUNT, partitions=2)
    for model in engine.MODELS:
        for deal in deals:
            fields = ("touchpoint_id", "touch_lead_id", "value_cents", "share")
            mine = CreditLedger.objects.filter(run=contact, model=model, deal=deal)
            theirs = CreditLedger.objects.filter(run=account, model=model, deal=deal)
            assert list(mine.order_by("position").values_list(*fields)) == list(
                theirs.order_by("position").values_list(*fields)
            ), model


def test_changing_the_buying_group_refreshes_the_deal_in_account_scope(
    acme, run_now, django_capture_on_commit_callbacks, admin
):
    from crm.services import deal_contact_add, deal_contact_remove

    contact = run_now(models=["linear"], partitions=3)
    account = run_now(scope=ACCOUNT, models=["linear"], partitions=3)
    before = list(
        CreditLedger.objects.filter(run=contact).values_list("touchpoint_id", "value_cents")
    )
    deal = acme["deal"]
    with django_capture_on_commit_callbacks(execute=True):
        deal_contact_remove(contact=DealContact.objects.get(deal=deal, lead=acme["cat"]), by=admin)
    # Ben's two touches and Ann's one: 100,001 / 3.
    assert [r.value_cents for r in _ledger(account, "linear", deal)] == [33_334, 33_334, 33_333]
    with django_capture_on_commit_callbacks(execute=True):
        deal_contact_add(deal=deal, lead=acme["dan"], by=admin, role="influencer")
    ledger = _ledger(account, "linear", deal)
    assert [r.channel.name for r in ledger] == ["Paid Social", "Email", "Paid Search", "Display"]
    assert [r.value_cents for r in ledger] == [25_001, 25_000, 25_000, 25_000]
    totals = AttributionResult.objects.filter(run=account, milestone="deal").aggregate(
        v=Sum("value_cents"), c=Sum("conversions")
    )
    assert (totals["v"], round(totals["c"], 9)) == (100_001, 1.0)
    # Contact scope credits Ann's journey alone, before and after.
    after = list(
        CreditLedger.objects.filter(run=contact).values_list("touchpoint_id", "value_cents")
    )
    assert after == before


def test_a_role_change_alone_changes_no_credit(
    acme, run_now, django_capture_on_commit_callbacks, admin
):
    from crm.services import deal_contact_add

    account = run_now(scope=ACCOUNT, models=["linear"], partitions=3)
    fields = ("touchpoint_id", "touch_lead_id", "value_cents", "share")
    before = sorted(CreditLedger.objects.filter(run=account).values_list(*fields))
    results = sorted(
        AttributionResult.objects.filter(run=account).values_list("channel_id", "value_cents")
    )
    with django_capture_on_commit_callbacks(execute=True):
        deal_contact_add(deal=acme["deal"], lead=acme["ben"], by=admin, role="decision_maker")
    assert sorted(CreditLedger.objects.filter(run=account).values_list(*fields)) == before
    assert (
        sorted(
            AttributionResult.objects.filter(run=account).values_list("channel_id", "value_cents")
        )
        == results
    )


def test_the_scope_and_its_people_are_part_of_the_immutable_definition(acme, run_now):
    from django.core.exceptions import ValidationError

    run = run_now(scope=ACCOUNT, models=["linear"])
    run.scope = AttributionRun.Scope.CONTACT
    with pytest.raises(ValidationError):
        run.save()
    run.refresh_from_db()
    run.account_people = AttributionRun.People.ACCOUNT
    with pytest.raises(ValidationError):
        run.save()
    with pytest.raises(ValueError):
        services.run_create(scope="team", start=False)


def test_account_runs_of_both_settings_conserve_every_deal(acme, run_now):
    won = won_deal(acme["dan"], "0.03", days_after=2)
    won.account = acme["account"]  # the whole account counts for it in that setting
    won.save()
    for people in AttributionRun.People.values:
        run = run_now(scope=ACCOUNT, account_people=people, partitions=3)
        per_deal = defaultdict(int)
        for model in engine.MODELS:
            for deal in (acme["deal"], won):
                ledger = CreditLedger.objects.filter(run=run, model=model, deal=deal)
                per_deal[(model, deal.pk)] = ledger.aggregate(s=Sum("value_cents"))["s"]
        assert {k: v for k, v in per_deal.items() if k[1] == won.pk} == {
            (m, won.pk): 3 for m in engine.MODELS
        }
        assert {k: v for k, v in per_deal.items() if k[1] == acme["deal"].pk} == {
            (m, acme["deal"].pk): 100_001 for m in engine.MODELS
        }
    assert Decimal(won.amount) == Decimal("0.03")


def test_the_dashboard_switches_to_account_scope_and_says_when_no_run_exists(
    acme, run_now, client, marketer, manager
):
    run_now(models=list(engine.MODELS), partitions=2)
    client.force_login(marketer)
    query = {"range": "custom", "start": "2026-06-01", "end": "2026-06-30"}
    contacts = client.get("/dashboards/marketing/", query).content.decode()
    assert 'data-scope="account"' in contacts and "no-account-run" not in contacts
    empty = client.get("/dashboards/marketing/", {**query, "scope": "account"}).content.decode()
    assert "No account-scoped run yet" in empty
    assert 'id="start-account-run"' in empty  # marketers may start one
    assert 'id="fig-roi"' not in empty  # no empty charts
    client.force_login(manager)
    page = client.get("/dashboards/marketing/", {**query, "scope": "account"}).content.decode()
    assert "No account-scoped run yet" in page and "start-account-run" not in page
    account = run_now(scope=ACCOUNT, partitions=2)
    client.force_login(marketer)
    page = client.get("/dashboards/marketing/", {**query, "scope": "account"}).content.decode()
    assert f'data-run="{account.pk}"' in page and 'id="run-scope"' in page
    paths = client.get("/dashboards/marketing/", {**query, "scope": "account"}).context["paths"]
    # The top path is the account's whole journey (repeats folded), not the first touch alone.
    assert [(p["path"], p["deals"]) for p in paths] == [
        (["Paid Social", "Email", "Paid Search", "Direct"], 1)
    ]
    assert 'id="fig-roi"' in page
    status = client.get("/dashboards/status.json", {"scope": "account"}).json()
    assert status["latest_run"] == account.pk
    bad = client.get("/dashboards/marketing/", {**query, "scope": "team"})
    assert bad.status_code == 200 and "Unknown scope" in bad.content.decode()


def test_recompute_starts_a_run_of_the_scope_chosen(client, marketer, rep):
    client.force_login(marketer)
    answer = client.post(
        "/dashboards/runs/start/", {"scope": "account"}, HTTP_ACCEPT="application/json"
    )
    assert answer.status_code == 202
    assert AttributionRun.objects.get().scope == ACCOUNT
    # One per scope at a time: a contact run may queue beside it, a second account run not.
    again = client.post(
        "/dashboards/runs/start/", {"scope": "account"}, HTTP_ACCEPT="application/json"
    )
    assert again.status_code == 409
    other = client.post(
        "/dashboards/runs/start/", {"scope": "contact"}, HTTP_ACCEPT="application/json"
    )
    assert other.status_code == 202
    bad = client.post("/dashboards/runs/start/", {"scope": "team"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and "scope" in bad.json()["errors"]
    assert AttributionRun.objects.count() == 2
    client.force_login(rep)
    assert client.post("/dashboards/runs/start/", {"scope": "account"}).status_code == 403


def test_the_roi_api_reads_the_latest_run_of_the_scope_asked(acme, run_now, client, marketer):
    contact = run_now(models=["linear"], partitions=2)
    client.force_login(marketer)
    none_yet = client.get("/api/v1/reports/roi/", {"model": "linear", "scope": "account"}).json()
    assert none_yet["run"] is None and none_yet["scope"] == "account"
    account = run_now(scope=ACCOUNT, models=["linear"], partitions=2)
    by_contact = client.get("/api/v1/reports/roi/", {"model": "linear"}).json()
    by_account = client.get("/api/v1/reports/roi/", {"model": "linear", "scope": "account"}).json()
    assert (by_contact["run"], by_contact["scope"]) == (contact.pk, "contact")
    assert (by_account["run"], by_account["scope"]) == (account.pk, "account")
    revenue = {
        body["scope"]: {r["name"]: r["revenue"] for r in body["rows"]}
        for body in (by_contact, by_account)
    }
    assert revenue["contact"]["Paid Search"] == "1000.01"
    # 20,000.2 cents of Ann's and Cat's touches each, 100,001 / 5 to the first: 400.00 + ...
    assert revenue["account"]["Paid Search"] == "400.00"
    assert revenue["account"]["Paid Social"] == "200.01"
    bad = client.get("/api/v1/reports/roi/", {"model": "linear", "scope": "team"})
    assert bad.status_code == 400 and "scope" in bad.json()["errors"]
    body = {"models": ["linear"], "scope": "account", "account_people": "account"}
    started = client.post("/api/v1/attribution/runs/", body, content_type="application/json")
    assert started.status_code == 202
    assert (started.json()["scope"], started.json()["account_people"]) == ("account", "account")
    wrong = client.post(
        "/api/v1/attribution/runs/", {"scope": "team"}, content_type="application/json"
    )
    assert wrong.status_code == 400 and "scope" in wrong.json()["errors"]


def test_the_openapi_schema_documents_the_scope_parameter(client, marketer):
    client.force_login(marketer)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    roi = schema["paths"]["/api/v1/reports/roi/"]["get"]["parameters"]
    scope = next(p for p in roi if p["name"] == "scope")
    assert scope["schema"]["enum"] == ["account", "contact"] or scope["schema"]["enum"] == [
        "contact", "account",
    ]  # fmt: skip
    assert "buying group" in scope["description"]


def test_the_nightly_run_computes_both_scopes(celery_eager, monkeypatch):
    from attribution import tasks

    monkeypatch.setattr(tasks, "job_claim", lambda **kwargs: True)
    tasks.attribution_nightly()
    assert sorted(AttributionRun.objects.values_list("scope", flat=True)) == ["account", "contact"]


def test_a_newer_account_run_leaves_the_contact_pages_on_the_contact_run(acme, run_now):
    from attribution import explain, selectors

    contact = run_now(models=["linear"], partitions=2)
    run_now(scope=ACCOUNT, models=["linear"], partitions=2)
    assert explain.latest_runs() == {"linear": contact}
    assert selectors.latest_run() == contact
    run, credited = selectors.credited_revenue_of_touches(
        touch_ids=acme["ann"].touchpoints.values_list("pk", flat=True), model="linear"
    )
    assert run == contact and sum(credited.values()) == 100_001


def test_the_command_runs_either_scope(acme, celery_eager, capsys):
    from django.core.management import call_command

    call_command(
        "run_attribution", "--model", "linear", "--scope", "account", "--people", "account"
    )
    run = AttributionRun.objects.get()
    assert (run.scope, run.account_people, run.status) == ("account", "account", "done")
    assert "(account scope)" in capsys.readouterr().out
    # Dan is in the account: six touches share the deal.
    assert len(_ledger(run, "linear", acme["deal"])) == 6
