"""The sales dashboard through HTTP: numbers checked by hand on a small team, permissions,
CSV exports, escaping and a query count that does not grow with the data."""

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Channel
from clm import roles
from clm.filters import parse_filters
from crm import dashboards, rollups
from crm.models import RollupMark
from crm.services import activity_log
from crm.tests.factories import DealFactory, lead_with_journey, stage
from leads.models import Lead

pytestmark = pytest.mark.django_db

URL = "/crm/dashboard/"
HOSTILE = '<img src=x onerror="alert(1)">'
FORMULA = "=cmd|'/c calc'!A1"


def hours_ago(hours: float):
    return timezone.now() - timedelta(hours=hours)


def days_ago(days: float):
    return hours_ago(24 * days)


def contacted(owner, *, captured, after_hours, kind="call", outcome="connected", channel="Direct"):
    """A lead captured at `captured` and first reached out to `after_hours` later."""
    lead = lead_with_journey(owner=owner, created_at=captured, touches=[{"channel_name": channel}])
    activity_log(
        lead=lead, kind=kind, outcome=outcome, by=owner,
        occurred_at=captured + timedelta(hours=after_hours),
    )  # fmt: skip
    return lead


def deal(owner, *, amount, slug, closed_days_ago=None, channel="Direct", opened_days_ago=20):
    lead = lead_with_journey(
        owner=owner, created_at=days_ago(opened_days_ago + 1), touches=[{"channel_name": channel}],
        stage=Lead.Stage.CUSTOMER if slug == "won" else Lead.Stage.OPPORTUNITY,
    )  # fmt: skip
    return DealFactory(
        lead=lead, amount=Decimal(amount), stage=stage(slug),
        opportunity_created_at=days_ago(opened_days_ago),
        closed_at=days_ago(closed_days_ago) if closed_days_ago is not None else None,
    )  # fmt: skip


@pytest.fixture
def ann(make_user):
    return make_user(roles.SALES_REP, username="ann", first_name="Ann", last_name="Lee")


@pytest.fixture
def bob(make_user):
    return make_user(roles.SALES_REP, username="bob", first_name="Bob", last_name="Stone")


@pytest.fixture
def team(ann, bob):
    """Two reps' last 90 days (the default period) and one lead and deal of the 90 before.

    First contact, hours: Ann 2, 6, 10 (median 6); Bob 1, 3 (median 2); all 1, 2, 3, 6, 10
    (median 3). The period before: one lead contacted after 5 hours.
    Closed deals: Ann won 1000 (Email) and 3000 (Paid Search), lost 500 (Paid Search); Bob
    won 2000 (Email). The period before: Ann won 1000. Open: Ann 2000 in qualification (open
    since before the previous period ended), Bob 2500 in proposal and 500 in qualification.
    Waiting for a first contact: Bob's from 3 days ago, Ann's from 2 days ago, an unassigned
    one from yesterday.
    """
    contacted(ann, captured=days_ago(10), after_hours=2)
    lead = contacted(ann, captured=days_ago(10), after_hours=6, kind="email", outcome="sent")
    activity_log(lead=lead, kind="call", outcome="no_answer", by=ann, occurred_at=days_ago(8))
    contacted(ann, captured=days_ago(5), after_hours=10, kind="meeting", outcome="held")
    contacted(bob, captured=days_ago(8), after_hours=1)
    contacted(bob, captured=days_ago(8), after_hours=3)
    contacted(ann, captured=days_ago(100), after_hours=5)

    deal(ann, amount="1000", slug="won", closed_days_ago=2, channel="Email")
    deal(ann, amount="3000", slug="won", closed_days_ago=3, channel="Paid Search")
    deal(ann, amount="500", slug="lost", closed_days_ago=1, channel="Paid Search")
    deal(bob, amount="2000", slug="won", closed_days_ago=4, channel="Email")
    deal(ann, amount="1000", slug="won", closed_days_ago=100, opened_days_ago=130)
    deal(ann, amount="2000", slug="qualification", opened_days_ago=120)
    deal(bob, amount="2500", slug="proposal")
    deal(bob, amount="500", slug="qualification")

    waiting = {
        "bob": lead_with_journey(owner=bob, created_at=days_ago(3), first_name="Wendy"),
        "ann": lead_with_journey(owner=ann, created_at=days_ago(2), first_name="Walt"),
        "nobody": lead_with_journey(owner=None, created_at=days_ago(1), first_name="Wren"),
    }
    return waiting


def dashboard(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response


def tiles(response):
    return {t["key"]: t for t in response.context["tiles"]}


def figure(response, name):
    page = response.content.decode()
    match = re.search(rf'<script id="fig-{name}" type="application/json">(.*?)</script>', page)
    return json.loads(match.group(1))


def csv_rows(response):
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


# --- Numbers -----------------------------------------------------------------------------------


def test_kpi_tiles_show_pipeline_wins_and_speed_to_lead_against_the_period_before(
    client, manager, team
):
    t = tiles(dashboard(client, manager))
    assert t["pipeline"]["value"] == Decimal("5000")  # 2000 + 2500 + 500
    assert t["pipeline"]["change"] == pytest.approx(1.5)  # 2000 open at the end of the last one
    assert t["revenue"]["value"] == Decimal("6000")
    assert t["revenue"]["change"] == pytest.approx(5.0)  # against 1000
    assert t["win_rate"]["value"] == pytest.approx(0.75)  # 3 won, 1 lost
    assert t["win_rate"]["change"] == pytest.approx(-0.25)  # against 1 of 1
    assert t["win_rate"]["good"] is False
    assert t["avg_deal"]["value"] == Decimal("2000.00")  # 6000 / 3
    assert t["first_contact"]["value"] == pytest.approx(3.0)  # median of 1, 2, 3, 6, 10 hours
    assert t["first_contact"]["change"] == pytest.approx(-0.4)  # against 5 hours
    assert t["first_contact"]["good"] is True  # faster is better
    assert t["waiting"]["value"] == 3
    assert t["waiting"]["oldest_hours"] == pytest.approx(72, abs=0.1)


def test_the_tiles_read_well_on_the_page(client, manager, team):
    page = dashboard(client, manager).content.decode()
    kpis = page[page.index('id="kpis"') : page.index('class="chart-grid"')]
    assert "$5,000" in kpis and "+150% vs previous" in kpis
    assert "75%" in kpis and "3.0 h" in kpis and "oldest waits 3.0 d" in kpis


def test_the_tiles_read_well_in_indonesian_rupiah(client, manager, team, settings):
    settings.CLM_CURRENCY = "IDR"
    client.force_login(manager)
    page = client.get(URL, HTTP_ACCEPT_LANGUAGE="id").content.decode()
    kpis = page[page.index('id="kpis"') : page.index('class="chart-grid"')]
    assert "Rp 5.000" in kpis and "+150% dibanding periode sebelumnya" in kpis
    assert "3,0 jam" in kpis and "terlama menunggu 3,0 hr" in kpis
    assert "Pendapatan dimenangkan" in kpis


def test_pipeline_is_summed_per_owner_and_open_stage_biggest_owner_first(client, manager, team):
    response = dashboard(client, manager)
    pipeline = response.context["pipeline"]
    assert pipeline.owners == ["Bob Stone", "Ann Lee"]
    assert pipeline.stages == ["Qualification", "Proposal"]
    assert pipeline.amounts == {"Qualification": [500.0, 2000.0], "Proposal": [2500.0, 0.0]}
    traces = figure(response, "pipeline")["data"]
    assert [t["name"] for t in traces] == ["Qualification", "Proposal"]
    assert traces[0]["x"] == ["Bob Stone", "Ann Lee"]


def test_leaderboard_counts_each_reps_activity_wins_and_first_contact(client, manager, team):
    rows = {r.name: r for r in dashboard(client, manager).context["rep_rows"]}
    ann, bob = rows["Ann Lee"], rows["Bob Stone"]
    assert list(rows) == ["Ann Lee", "Bob Stone"]  # most revenue first
    assert (ann.activities, ann.calls_connected) == (4, 1)  # call, email, call, meeting
    assert (bob.activities, bob.calls_connected) == (2, 2)
    assert (ann.deals_won, ann.deals_lost, ann.revenue_won) == (2, 1, Decimal("4000"))
    assert (bob.deals_won, bob.deals_lost, bob.revenue_won) == (1, 0, Decimal("2000"))
    assert ann.win_rate == pytest.approx(2 / 3)
    assert bob.win_rate == 1.0
    assert ann.first_contact_hours == pytest.approx(6.0)  # median of 2, 6, 10
    assert bob.first_contact_hours == pytest.approx(2.0)  # between 1 and 3
    assert ann.leads == 3 + 3 + 1  # contacted, of the deals closed in the period, waiting


def test_time_to_first_contact_chart_shows_each_reps_median_fastest_first(client, manager, team):
    bars = figure(dashboard(client, manager), "first-contact")["data"][0]
    assert bars["x"] == ["Bob Stone", "Ann Lee"]
    assert bars["y"] == [2.0, 6.0]


def test_win_rate_and_deal_size_per_first_touch_channel(client, manager, team):
    response = dashboard(client, manager)
    rows = {r.channel: r for r in response.context["source_rows"]}
    assert (rows["Email"].deals_won, rows["Email"].deals_lost) == (2, 0)
    assert rows["Email"].win_rate == 1.0
    assert rows["Email"].avg_deal == Decimal("1500.00")
    assert rows["Paid Search"].win_rate == 0.5
    assert rows["Paid Search"].avg_deal == Decimal("3000.00")
    win_rate = figure(response, "win-rate")["data"][0]
    assert dict(zip(win_rate["x"], win_rate["y"], strict=True)) == {
        "Email": 100.0, "Paid Search": 50.0
    }  # fmt: skip
    size = figure(response, "deal-size")["data"][0]
    assert dict(zip(size["x"], size["y"], strict=True)) == {"Paid Search": 3000.0, "Email": 1500.0}


def test_leads_waiting_longest_for_contact_come_oldest_first_and_link_to_the_lead(
    client, manager, team
):
    response = dashboard(client, manager)
    rows = response.context["waiting_rows"]
    assert [r["lead_id"] for r in rows] == [team[k].pk for k in ("bob", "ann", "nobody")]
    assert [r["owner"] for r in rows] == ["Bob Stone", "Ann Lee", "Unassigned"]
    assert rows[0]["waiting_hours"] == pytest.approx(72, abs=0.1)
    assert f'href="/crm/leads/{team["bob"].pk}/"' in response.content.decode()


def test_waiting_list_stops_at_twenty(client, manager, ann):
    for n in range(23):
        lead_with_journey(owner=ann, created_at=hours_ago(30 - n))
    rows = dashboard(client, manager).context["waiting_rows"]
    assert len(rows) == 20
    assert rows[0]["waiting_hours"] == pytest.approx(30, abs=0.1)


def test_channel_filter_narrows_everything_to_leads_first_touched_there(client, manager, team):
    email = Channel.objects.get(name="Email")
    response = dashboard(client, manager, channel=email.pk)
    t = tiles(response)
    assert t["revenue"]["value"] == Decimal("3000")  # Ann's 1000 and Bob's 2000
    assert t["win_rate"]["value"] == 1.0
    assert t["pipeline"]["value"] == Decimal("0")
    assert t["first_contact"]["value"] is None
    assert [r.channel for r in response.context["source_rows"]] == ["Email"]
    assert response.context["filters"].channel_id == email.pk


def test_a_shorter_period_leaves_older_deals_and_leads_out(client, manager, team):
    two_days_ago = timezone.localdate() - timedelta(days=2)
    response = dashboard(client, manager, start=two_days_ago.isoformat())
    t = tiles(response)
    assert t["revenue"]["value"] == Decimal("1000")  # only the win 2 days ago
    assert t["win_rate"]["value"] == 0.5  # won 1000, lost 500
    assert [r["lead_id"] for r in response.context["waiting_rows"]] == [
        team["ann"].pk, team["nobody"].pk
    ]  # fmt: skip


def test_an_empty_dashboard_says_so(client, manager):
    response = dashboard(client, manager)
    page = response.content.decode()
    assert "No open deals at the end of this period." in page
    assert "No deals closed in this period." in page
    assert "Every lead captured in this period has been contacted." in page
    assert tiles(response)["win_rate"]["value"] is None


def test_each_viewer_counts_only_what_they_may_see(ann, bob, team):
    f = parse_filters({})
    assert dashboards.deal_totals(user=ann, f=f)["now"]["revenue"] == Decimal("4000")
    assert dashboards.deal_totals(user=bob, f=f)["now"]["revenue"] == Decimal("2000")
    assert [r["owner"] for r in dashboards.waiting_rows(user=bob, f=f)] == ["Bob Stone"]


# --- Access, live refresh and exports ---------------------------------------------------------


def test_reps_may_not_open_the_dashboard_or_its_exports(client, rep):
    client.force_login(rep)
    assert client.get(URL).status_code == 403
    assert client.get(reverse("crm:sales-dashboard-export", args=["waiting"])).status_code == 403


@pytest.mark.parametrize("role", ["manager", "marketer", "admin"])
def test_managers_marketers_and_admins_open_the_dashboard(client, request, role):
    response = dashboard(client, request.getfixturevalue(role))
    page = response.content.decode()
    assert 'id="dashboard"' in page and 'data-status-url="/dashboards/status.json"' in page
    assert 'name="range"' in page and 'name="channel"' in page and 'name="campaign"' in page
    assert 'name="model"' not in page  # attribution models do not apply here


def test_sales_is_the_active_navigation_entry_not_leads(client, manager):
    items = dashboard(client, manager).context["nav_items"]
    assert [i["label"] for i in items if i["active"]] == ["Sales"]


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_live_refresh_gets_the_body_only(client, manager, team):
    client.force_login(manager)
    response = client.get(URL, HTTP_X_CLM_PARTIAL="1")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page and 'id="kpis"' in page and 'data-figure="fig-pipeline"' in page


def test_leaderboard_and_sources_export_as_csv(client, manager, team):
    client.force_login(manager)
    board = csv_rows(client.get(reverse("crm:sales-dashboard-export", args=["leaderboard"])))
    assert board[0] == list(dashboards.EXPORT_COLUMNS["leaderboard"])
    assert board[1][:8] == ["Ann Lee", "7", "4", "1", "2", "1", "4000.00", "0.6667"]
    assert board[1][8] == "6.0"
    sources = csv_rows(client.get(reverse("crm:sales-dashboard-export", args=["sources"])))
    assert ["Email", "2", "0", "3000.00", "1.0", "1500.00"] in [r[:1] + r[2:] for r in sources]


def test_waiting_export_neutralises_a_formula_looking_lead_name(client, manager, ann):
    lead = lead_with_journey(owner=ann, first_name=FORMULA, last_name="", created_at=hours_ago(5))
    client.force_login(manager)
    rows = csv_rows(client.get(reverse("crm:sales-dashboard-export", args=["waiting"])))
    assert rows[0] == list(dashboards.EXPORT_COLUMNS["waiting"])
    assert rows[1][:2] == [str(lead.pk), "'" + FORMULA]


def test_an_unknown_export_is_not_found(client, manager):
    client.force_login(manager)
    assert client.get("/crm/dashboard/export/users.csv").status_code == 404


def test_hostile_names_are_escaped_in_the_page_and_in_the_figure_data(client, manager, make_user):
    evil = make_user(roles.SALES_REP, username="evil", first_name=HOSTILE)
    contacted(evil, captured=days_ago(3), after_hours=4)
    deal(evil, amount="700", slug="proposal")
    lead_with_journey(owner=evil, first_name=HOSTILE, created_at=days_ago(1))
    response = dashboard(client, manager)
    page = response.content.decode()
    assert HOSTILE not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page  # leaderboard, waiting list
    for name in ("pipeline", "first-contact"):
        labels = json.dumps(figure(response, name)["data"])
        assert "<img" not in labels
        assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in labels


# --- Queries -----------------------------------------------------------------------------------


def _busy_team(reps, leads: int) -> None:
    """Leads for three reps: each contacted, with a won, lost or open deal, plus one waiting."""
    channels, outcomes = ("Email", "Paid Search", "Direct"), ("won", "lost", "proposal")
    for n in range(leads):
        owner = reps[n % len(reps)]
        captured = days_ago(1 + n % 20)
        lead = contacted(owner, captured=captured, after_hours=1 + n % 7, channel=channels[n % 3])
        DealFactory(
            lead=lead, amount=Decimal(100 + n), stage=stage(outcomes[n % 3]),
            opportunity_created_at=days_ago(1), closed_at=None if n % 3 == 2 else hours_ago(1),
        )  # fmt: skip
        lead_with_journey(owner=owner, created_at=days_ago(n % 20))


def _recount_queries() -> int:
    assert RollupMark.objects.exists()
    with CaptureQueriesContext(connection) as queries:
        assert rollups.refresh() > 0
    assert not RollupMark.objects.exists()
    return len(queries)


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
        for table in dashboards.EXPORT_COLUMNS:
            assert (
                client.get(reverse("crm:sales-dashboard-export", args=[table])).status_code == 200
            )
    return len(queries)


def test_queries_do_not_grow_with_the_number_of_leads(
    client, manager, make_user, django_assert_num_queries
):
    reps = [make_user(roles.SALES_REP) for _ in range(3)]
    client.force_login(manager)
    _busy_team(reps, 3)
    # The first read after writes also recounts the changed days of the daily rollups, in
    # queries of its own: marks, lock (and planner setting), the replaced rows, one delete,
    # one grouped read per kind, the inserts, then the month rows (read, update, insert,
    # delete). Only inserts and updates can take more than one statement (SQLite allows 999
    # values per statement), however many rows or days changed.
    assert _recount_queries() <= 20
    few = _queries(client)
    # 40 for the dashboard, + 2 for the nav's counts (open alerts, follow-ups due): one query
    # each per page, whatever the number of rows.
    assert few <= 42
    _busy_team(reps, 27)
    assert _recount_queries() <= 20
    with django_assert_num_queries(few):
        _queries(client)
