"""Figures that read only a run's stored rows (top paths, the credited self-reported matrix)
are cached per run version: recounted after a run or a refresh, an answer changed, and never
for a new lead or an edit elsewhere."""

from datetime import date
from decimal import Decimal

import pytest
from django.http import QueryDict
from django.utils import timezone

from attribution import dashboards, engine, self_reported, services
from attribution.tests.factories import lead_with_journey, won_deal
from clm.filters import Filters, parse_filters
from crm import rollup_marks
from leads.models import Lead
from leads.services import lead_heard_about_set

pytestmark = pytest.mark.django_db

JUNE = Filters(start=date(2026, 5, 1), end=date(2026, 7, 31), model="linear")


def answered(email: str, channels: list[str], answer: str) -> Lead:
    lead = lead_with_journey(email, channels)
    Lead.objects.filter(pk=lead.pk).update(heard_about=answer)
    rollup_marks.mark_answers([lead.pk])
    return lead


@pytest.fixture
def counted(monkeypatch):
    """How often each figure was counted from the run's rows."""
    calls = {"paths": 0, "credited": 0}
    tally, counts = dashboards._path_tally, self_reported._credited_counts

    def path_tally(*args, **kwargs):
        calls["paths"] += 1
        return tally(*args, **kwargs)

    def credited_counts(*args, **kwargs):
        calls["credited"] += 1
        return counts(*args, **kwargs)

    monkeypatch.setattr(dashboards, "_path_tally", path_tally)
    monkeypatch.setattr(self_reported, "_credited_counts", credited_counts)
    return calls


@pytest.fixture
def run(django_capture_on_commit_callbacks, celery_eager):
    won_deal(answered("a@x.io", ["Paid Search", "Email"], "podcast"), "1000.00")
    answered("b@x.io", ["Email"], "friend")
    with django_capture_on_commit_callbacks(execute=True):
        return services.run_create(models=["linear"], partitions=1)


def figures(run):
    run.refresh_from_db()
    matrix = self_reported.self_reported(run, JUNE)["credited"]
    credited = {
        row.label: [
            (c, cell.leads, cell.revenue) for c, cell in zip(matrix.columns, row.cells, strict=True)
        ]
        for row in matrix.rows
    }
    return dashboards.top_paths(run, JUNE), credited


def test_a_new_lead_or_an_edit_elsewhere_reads_the_cached_figures(run, counted):
    first = figures(run)
    assert first[0] == [{"path": ["Paid Search", "Email"], "deals": 1, "revenue": 1000.0}]
    assert first[1] == {
        "Podcast": [("Email", 1, Decimal("500.00")), ("Paid Search", 1, Decimal("500.00"))]
    }
    assert counted == {"paths": 1, "credited": 1}
    answered("c@x.io", ["Email"], "podcast")  # a new lead, answered, no deal
    lead_heard_about_set(lead=Lead.objects.get(email="b@x.io"), heard_about="search")
    Lead.objects.filter(email="a@x.io").update(first_name="Ann")
    # Unchanged figures, not counted again. (The answer edited is of a lead with no credit,
    # so the credited matrix is counted again, to the same numbers.)
    assert figures(run) == first
    assert counted == {"paths": 1, "credited": 2}
    assert figures(run) == first
    assert counted == {"paths": 1, "credited": 2}


def test_an_answer_changed_on_a_credited_lead_shows_at_once(run, counted):
    figures(run)
    lead_heard_about_set(lead=Lead.objects.get(email="a@x.io"), heard_about="friend")
    assert figures(run)[1] == {
        "Friend or colleague": [
            ("Email", 1, Decimal("500.00")),
            ("Paid Search", 1, Decimal("500.00")),
        ]
    }


def test_a_refresh_after_a_deal_is_won_recounts_both(
    run, counted, django_capture_on_commit_callbacks
):
    figures(run)
    lead = Lead.objects.get(email="b@x.io")
    with django_capture_on_commit_callbacks(execute=True):
        won_deal(lead, "200.00")
        services.refresh_lead(lead_id=lead.pk)
    paths, credited = figures(run)
    assert counted == {"paths": 2, "credited": 2}
    assert {"path": ["Email"], "deals": 1, "revenue": 200.0} in paths
    assert credited["Friend or colleague"] == [
        ("Email", 1, Decimal("200.00")),
        ("Paid Search", 0, Decimal("0.00")),
    ]


def test_the_default_view_is_counted_when_the_run_ends(run, counted, built, settings):
    f = parse_filters(QueryDict(""), models=engine.MODELS)
    run.refresh_from_db()
    dashboards.top_paths(run, f)
    self_reported.against_credited(run, f, {})
    dashboards.run_figures(run, f, by="channel", currency=settings.CLM_CURRENCY)
    assert counted == {"paths": 0, "credited": 0}
    assert built == {"roi": 0}
    dashboards.top_paths(run, JUNE)
    assert counted == {"paths": 1, "credited": 0}


@pytest.fixture
def built(monkeypatch):
    """How often the run-keyed part of the marketing dashboard was read from the summary."""
    from attribution import selectors

    calls = {"roi": 0}
    rows = selectors.roi_rows

    def roi_rows(*args, **kwargs):
        calls["roi"] += 1
        return rows(*args, **kwargs)

    monkeypatch.setattr(selectors, "roi_rows", roi_rows)
    return calls


def run_figures(run):
    run.refresh_from_db()
    stored = dashboards.run_figures(run, JUNE, by="channel", currency="USD")
    return {r.name: (r.spend, r.revenue) for r in stored["channel_rows"]}, stored["roi"]


def test_the_run_figures_are_not_read_again_for_a_new_lead_or_a_call(run, built, rep):
    from crm.models import Activity

    first = run_figures(run)
    assert first[0]["Paid Search"][1] == Decimal("500.00")
    assert built == {"roi": 2}  # channel and campaign rows
    answered("c@x.io", ["Email"], "podcast")
    Activity.objects.create(
        lead=Lead.objects.get(email="a@x.io"),
        kind=Activity.Kind.CALL,
        by=rep,
        occurred_at=timezone.now(),
    )
    assert run_figures(run) == first
    assert built == {"roi": 2}


def test_spend_a_renamed_channel_and_a_refresh_each_show_at_once(
    run, built, django_capture_on_commit_callbacks
):
    from campaigns.models import Campaign, Channel, Spend

    run_figures(run)
    paid = Channel.objects.get(name="Paid Search")
    campaign = Campaign.objects.create(name="Brand", utm_campaign="brand", channel=paid)
    spend = Spend.objects.create(campaign=campaign, date=date(2026, 6, 1), amount="250.00")
    assert run_figures(run)[0]["Paid Search"] == (Decimal("250.00"), Decimal("500.00"))
    spend.delete()
    assert run_figures(run)[0]["Paid Search"][0] == Decimal("0.00")
    paid.name = "Search ads"
    paid.save()
    names, roi = run_figures(run)
    assert "Search ads" in names and "Paid Search" not in names
    assert "Search ads" in str(roi)
    lead = Lead.objects.get(email="b@x.io")
    with django_capture_on_commit_callbacks(execute=True):
        won_deal(lead, "200.00")
        services.refresh_lead(lead_id=lead.pk)
    assert run_figures(run)[0]["Email"][1] == Decimal("700.00")
    assert built == {"roi": 10}  # built anew each of the 5 times, never otherwise
