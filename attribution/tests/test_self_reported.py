"""Self-reported attribution on the marketing dashboard, on hand-computed data."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from attribution import services
from attribution.self_reported import self_reported
from attribution.tests.factories import T0, lead_with_journey, won_deal
from campaigns.models import Channel
from clm.filters import Filters
from crm import rollup_marks
from leads.models import Lead

pytestmark = pytest.mark.django_db

JUNE = {"start": date(2026, 5, 1), "end": date(2026, 7, 31)}


def answered(email, channels, heard_about, other="", won=None, start=T0):
    lead = lead_with_journey(email, channels, start=start)
    Lead.objects.filter(pk=lead.pk).update(
        heard_about=heard_about,
        heard_about_other=other,
        first_channel=lead.first_touch.channel,
    )
    rollup_marks.mark_answers([lead.pk])  # as a capture or sales' edit marks them
    if won:
        won_deal(lead, won)
    return lead


@pytest.fixture
def run(django_capture_on_commit_callbacks, celery_eager):
    answered("a@x.io", ["Paid Search", "Email"], "podcast", won="1000.00")
    answered("b@x.io", ["Paid Search"], "podcast")
    answered("c@x.io", ["Organic Search"], "other", other="My  Cousin", won="300.00")
    answered("d@x.io", ["Email"], "other", other=" my cousin ")
    answered("e@x.io", ["Organic Search"], "", won="500.00")  # no answer: not in the panel
    answered("f@x.io", ["Paid Search"], "podcast", start=T0 - timedelta(days=400))  # before
    with django_capture_on_commit_callbacks(execute=True):
        return services.run_create(models=["linear"], partitions=1)


def table(matrix):
    """{row label: [(column, leads, revenue), ..., ("Total", leads, revenue)]}"""
    return {
        r.label: [
            *(
                (c, cell.leads, cell.revenue)
                for c, cell in zip(matrix.columns, r.cells, strict=True)
            ),
            ("Total", r.total.leads, r.total.revenue),
        ]
        for r in matrix.rows
    }


def test_answers_against_the_first_touch_channel_count_leads_and_their_won_revenue(run):
    matrix = self_reported(run, Filters(**JUNE))["first_touch"]
    assert matrix.columns == ["Paid Search", "Email", "Organic Search"]
    assert table(matrix) == {
        "Other": [
            ("Paid Search", 0, Decimal("0.00")),
            ("Email", 1, Decimal("0.00")),
            ("Organic Search", 1, Decimal("300.00")),
            ("Total", 2, Decimal("300.00")),
        ],
        "Podcast": [
            ("Paid Search", 2, Decimal("1000.00")),
            ("Email", 0, Decimal("0.00")),
            ("Organic Search", 0, Decimal("0.00")),
            ("Total", 2, Decimal("1000.00")),
        ],
    }
    assert [(c.leads, c.revenue) for c in matrix.totals] == [
        (2, Decimal("1000.00")),
        (1, Decimal("0.00")),
        (1, Decimal("300.00")),
    ]
    assert (matrix.total.leads, matrix.total.revenue) == (4, Decimal("1300.00"))


def test_answers_against_the_models_credited_channels_split_the_revenue(run):
    # Linear: a's 1000 is 500 Paid Search + 500 Email; c's 300 all Organic Search. A lead
    # credited in two channels counts in both cells and once in its row's total.
    matrix = self_reported(run, Filters(**JUNE, model="linear"))["credited"]
    assert table(matrix) == {
        "Podcast": [
            ("Email", 1, Decimal("500.00")),
            ("Organic Search", 0, Decimal("0.00")),
            ("Paid Search", 1, Decimal("500.00")),
            ("Total", 1, Decimal("1000.00")),
        ],
        "Other": [
            ("Email", 0, Decimal("0.00")),
            ("Organic Search", 1, Decimal("300.00")),
            ("Paid Search", 0, Decimal("0.00")),
            ("Total", 1, Decimal("300.00")),
        ],
    }
    assert (matrix.total.leads, matrix.total.revenue) == (2, Decimal("1300.00"))


def test_free_text_answers_are_grouped_ignoring_case_and_spaces(run):
    assert self_reported(run, Filters(**JUNE))["free_texts"] == [("my cousin", 2)]


def test_the_channel_filter_narrows_the_columns_of_both_views(run):
    paid = Channel.objects.get(name="Paid Search").pk
    panel = self_reported(run, Filters(**JUNE, channel_id=paid))
    assert table(panel["first_touch"]) == {
        "Podcast": [("Paid Search", 2, Decimal("1000.00")), ("Total", 2, Decimal("1000.00"))]
    }
    assert table(panel["credited"]) == {
        "Podcast": [("Paid Search", 1, Decimal("500.00")), ("Total", 1, Decimal("500.00"))]
    }
    assert panel["free_texts"] == []


def test_the_panel_is_on_the_dashboard_with_its_menu_entry(client, marketer, run):
    client.force_login(marketer)
    page = client.get(
        "/dashboards/marketing/", {"start": "2026-05-01", "end": "2026-07-31"}
    ).content.decode()
    assert 'href="#self-reported"' in page
    section = page[page.index('id="self-reported"') :]
    assert 'id="self-reported-first-touch"' in section
    assert 'id="self-reported-credited"' in section
    assert "my cousin" in section


def test_a_sales_edit_shows_on_the_next_dashboard_load_not_after_the_cache_expires(
    client, marketer, run
):
    from leads.services import lead_heard_about_set

    client.force_login(marketer)
    query = {"start": "2026-05-01", "end": "2026-07-31"}
    before = client.get("/dashboards/marketing/", query).content.decode()
    assert 'data-answer="friend"' not in before
    lead_heard_about_set(lead=Lead.objects.get(email="b@x.io"), heard_about="friend")
    after = client.get("/dashboards/marketing/", query).content.decode()
    assert 'data-answer="friend"' in after
