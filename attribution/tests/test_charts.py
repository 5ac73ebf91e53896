"""The chart builders (issue #18): axis titles with units everywhere, one colour per channel
across charts, outliers clipped without losing their value, a channel filter breaking the
"by channel" figures down by campaign, partial weeks marked."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from attribution import charts
from attribution.dashboards import breakdown
from attribution.selectors import RoiRow
from campaigns.colours import DEFAULT_COLOURS, next_colour
from clm.filters import Filters
from insights import charts as insight_charts

COLOURS = {"Email": "#59a14f", "Paid Search": "#4e79a7", "Display": "#b07aa1"}


def roi(name, spend, revenue, channel="", leads=10.0):
    return RoiRow(key=1, name=name, channel=channel or name, spend=Decimal(spend), leads=leads,
                  opportunities=3.0, pipeline=Decimal(0), deals=2.0,
                  revenue=Decimal(revenue))  # fmt: skip


FUNNEL_ROW = {"channel": "Email", "leads": 4.0, "qualified": 2.0, "opportunities": 1.0, "won": 0.5}
QUALITY_ROW = {"channel": "Email", "good": 2, "poor": 1}
ROWS = [roi("Email", 100, 4825), roi("Paid Search", 5000, 9000), roi("Display", 3000, 1200)]


def all_figures(currency="USD"):
    """Every chart with data, as the dashboards build it."""
    monday = date(2026, 1, 5)
    series = {"Email": {monday: 10.0}, "Paid Search": {monday: 20.0}}
    pipeline = SimpleNamespace(owners=["Ana"], stages=["Demo"], amounts={"Demo": [100.0]})
    rep = SimpleNamespace(name="Ana", first_contact_hours=2.0)
    source = SimpleNamespace(channel="Email", color="#59a14f", deals_won=2, deals_lost=1,
                             win_rate=0.66, avg_deal=Decimal(500))  # fmt: skip
    interval = SimpleNamespace(channel=SimpleNamespace(name="Email", color="#59a14f"), roi=1.0,
                               roi_low=0.5, roi_high=1.5, small_sample=False, deals=30)  # fmt: skip
    return {
        "roi": charts.roi_by_channel(ROWS, currency, COLOURS),
        "spend_revenue": charts.spend_vs_revenue(ROWS, currency, COLOURS),
        "revenue_time": charts.revenue_over_time(series, COLOURS, currency=currency),
        "funnel": charts.funnel_by_channel([FUNNEL_ROW], COLOURS),
        "models": charts.model_comparison({"linear": {"Email": 10.0}}, currency),
        "quality": charts.lead_quality([QUALITY_ROW], colours=COLOURS),
        "pipeline": charts.pipeline_by_owner(pipeline, currency),
        "first_contact": charts.first_contact_by_rep([rep]),
        "win_rate": charts.win_rate_by_channel([source]),
        "deal_size": charts.deal_size_by_channel([source], currency),
        "intervals": insight_charts.roi_intervals([interval]),
        "budget": insight_charts.budget_shift(
            [{"name": "Email", "current": 10.0, "recommended": 20.0}], currency, COLOURS
        ),
    }


def marker_colours(trace):
    colour = trace["marker"]["color"]
    return colour if isinstance(colour, list) else [colour] * len(trace["x"])


@pytest.mark.parametrize("name", list(all_figures()))
def test_every_figure_has_both_axis_titles(name):
    layout = all_figures()[name]["layout"]
    assert layout["xaxis"]["title"]["text"].strip()
    assert layout["yaxis"]["title"]["text"].strip()


def test_money_axes_and_hovers_carry_the_currency():
    figures = all_figures("IDR")
    for name in ("spend_revenue", "revenue_time", "models", "pipeline", "deal_size", "budget"):
        layout = figures[name]["layout"]
        titles = layout["xaxis"]["title"]["text"] + layout["yaxis"]["title"]["text"]
        assert "IDR" in titles, name
    for name in ("roi", "spend_revenue", "revenue_time", "models", "budget"):
        for trace in figures[name]["data"]:
            assert "IDR" in trace["hovertemplate"], name


def test_a_channel_keeps_one_colour_across_charts():
    seen: dict[str, set[str]] = {}
    figures = all_figures()
    for name in ("roi", "spend_revenue", "revenue_time", "funnel", "quality", "win_rate",
                 "deal_size", "budget"):  # fmt: skip
        for trace in figures[name]["data"]:
            horizontal = trace.get("orientation") == "h"
            if trace["type"] == "bar" and name == "revenue_time":
                seen.setdefault(trace["name"], set()).update(marker_colours(trace)[:1])
                continue
            categories = trace["y"] if horizontal else trace["x"]
            for category, colour in zip(categories, marker_colours(trace), strict=True):
                seen.setdefault(category, set()).add(colour)
    assert seen["Email"] == {"#59a14f"}
    assert seen["Paid Search"] == {"#4e79a7"}
    insight_bars = figures["intervals"]["data"][0]
    assert insight_bars["marker"]["color"] == ["#59a14f"]


def test_the_default_channel_group_has_distinct_colours_and_new_channels_get_a_free_one():
    colours = list(DEFAULT_COLOURS.values())
    assert len(set(colours)) == len(colours) == 22
    fresh = next_colour("Podcasts", colours)
    assert fresh not in colours
    assert next_colour("Podcasts", [*colours, fresh]) not in [*colours, fresh]
    assert next_colour("Email", []) == DEFAULT_COLOURS["Email"]


@pytest.mark.django_db
def test_a_new_channel_is_saved_with_a_colour_no_other_channel_has():
    from campaigns.models import Channel

    used = set(Channel.objects.values_list("color", flat=True))
    assert Channel.objects.get(name="Email").color == DEFAULT_COLOURS["Email"]
    channel = Channel.objects.create(name="Podcasts")
    assert channel.color and channel.color not in used


def test_an_outlier_roi_is_clipped_and_keeps_its_true_value():
    fig = charts.roi_by_channel(ROWS, "USD", COLOURS)
    trace = fig["data"][-1]
    limit = fig["layout"]["xaxis"]["range"][1]
    email = trace["y"].index("Email")
    true_roi = 4725.0
    assert trace["x"][email] == limit < true_roi
    assert trace["customdata"][email][0] == true_roi  # the hover says the true value
    assert trace["text"][email].startswith("4,725%")
    label = fig["layout"]["annotations"][0]
    assert (label["y"], label["x"], label["text"]) == ("Email", limit, "4,725% ▸")
    assert trace["marker"]["pattern"]["shape"][email] == "/"
    others = [x for i, x in enumerate(trace["x"]) if i != email]
    assert others == [-60.0, 80.0] and max(map(abs, others)) > limit / 20


def test_zero_spend_channels_are_listed_as_no_spend():
    fig = charts.roi_by_channel([*ROWS, roi("Referral", 0, 800)], "USD", COLOURS)
    free = fig["data"][0]
    assert free["y"] == ["Referral"] and free["text"] == ["no spend"]
    assert "Referral" in fig["layout"]["yaxis"]["categoryarray"]


def test_a_channel_filter_yields_a_campaign_breakdown():
    f = Filters(start=date(2026, 1, 1), end=date(2026, 3, 31), channel_id=7)
    assert breakdown(f) == "campaign"
    assert breakdown(Filters(start=f.start, end=f.end)) == "channel"
    assert breakdown(Filters(start=f.start, end=f.end, channel_id=7, campaign_id=3)) == "channel"
    campaigns = [roi("Search - Brand", 100, 900, channel="Paid Search"),
                 roi("Search - Generic", 200, 300, channel="Paid Search")]  # fmt: skip
    fig = charts.roi_by_channel(campaigns, "USD", COLOURS, by="campaign")
    assert set(fig["data"][0]["y"]) == {"Search - Brand", "Search - Generic"}
    assert fig["layout"]["yaxis"]["title"]["text"] == "Campaign"
    # Campaigns wear their channel's colour.
    assert set(fig["data"][0]["marker"]["color"]) == {"#4e79a7"}


@pytest.mark.django_db
def test_the_marketing_dashboard_breaks_a_filtered_channel_down_by_campaign(client):
    from django.contrib.auth import get_user_model

    from campaigns.models import Campaign, Channel, Spend

    channel = Channel.objects.get(name="Paid Search")
    for name in ("Brand", "Generic"):
        campaign = Campaign.objects.create(name=name, channel=channel, utm_campaign=name.lower())
        Spend.objects.create(campaign=campaign, date=date.today() - timedelta(days=3), amount=50)
    user = get_user_model().objects.create_superuser("m", password="pw-for-tests-123")
    client.force_login(user)
    page = client.get(f"/dashboards/marketing/?channel={channel.pk}")
    assert page.status_code == 200
    assert page.context["breakdown"] == "campaign"
    spend = page.context["figures"]["spend_revenue"]["data"][0]
    assert set(spend["y"]) == {"Brand", "Generic"}


def test_revenue_over_time_shows_the_top_channels_and_other_and_marks_partial_weeks():
    weeks = [date(2026, 1, 5) + timedelta(weeks=i) for i in range(4)]
    series = {f"Channel {i}": {w: float(100 - i) for w in weeks} for i in range(11)}
    fig = charts.revenue_over_time(series, {}, currency="USD", start=date(2026, 1, 7),
                                   end=date(2026, 1, 29), top=6)  # fmt: skip
    names = [t["name"] for t in fig["data"]]
    assert len(names) == 7 and names[-1] == "Other (5)"
    assert all(t["type"] == "bar" for t in fig["data"]) and fig["layout"]["barmode"] == "stack"
    assert fig["layout"]["legend"]["itemclick"] == "toggleothers"
    notes = [c[1] for c in fig["data"][0]["customdata"]]
    assert notes[0].startswith("partial week") and notes[-1].startswith("partial week")
    assert notes[1] == notes[2] == ""
    assert fig["data"][0]["marker"]["pattern"]["shape"] == ["/", "", "", "/"]
    assert len(fig["layout"]["annotations"]) == 2


def test_legends_sit_above_the_plot_clear_of_the_x_labels():
    for name, fig in all_figures().items():
        legend = fig["layout"]["legend"]
        assert legend["yanchor"] == "bottom" and legend["y"] >= 1, name


@pytest.mark.django_db
def test_the_sales_dashboard_breaks_a_filtered_channel_down_by_campaign(client):
    from django.contrib.auth import get_user_model

    from campaigns.models import Channel

    channel = Channel.objects.get(name="Paid Search")
    client.force_login(get_user_model().objects.create_superuser("s", password="pw-123-tests"))
    page = client.get(f"/crm/dashboard/?channel={channel.pk}")
    assert page.status_code == 200
    assert page.context["breakdown"] == "campaign"
    assert "Win rate by source campaign" in page.content.decode()


@pytest.mark.django_db
def test_admins_edit_a_channel_colour_and_a_bad_one_is_refused(client):
    from django.contrib.auth import get_user_model

    from campaigns.models import Channel

    client.force_login(get_user_model().objects.create_superuser("a", password="pw-123-tests"))
    listing = client.get("/admin/campaigns/channel/")
    assert listing.status_code == 200 and b'<svg class="swatch"' in listing.content
    channel = Channel.objects.get(name="Email")
    url = f"/admin/campaigns/channel/{channel.pk}/change/"
    form = {"name": "Email", "description": "", "color": "red;x", "display_order": 1,
            "is_active": "on"}  # fmt: skip
    refused = client.post(url, form)
    assert refused.status_code == 200 and "six hex digits" in refused.content.decode()
    assert client.post(url, {**form, "color": "#123456"}).status_code == 302
    channel.refresh_from_db()
    assert channel.color == "#123456"


@pytest.mark.parametrize("name", list(all_figures()))
def test_every_figure_carries_its_data_as_a_table(name):
    fig = all_figures()[name]
    table = fig["table"]
    assert table["rows"] and all(c["label"].strip() for c in table["columns"])
    assert all(len(row) == len(table["columns"]) for row in table["rows"])
    assert {c["kind"] for c in table["columns"][1:]} <= {
        "money",
        "percent",
        "count",
        "number",
        "hours",
    }


def test_a_clipped_roi_reads_its_true_value_in_the_table():
    table = charts.roi_by_channel(ROWS, "USD", COLOURS)["table"]
    assert table["rows"][0] == ["Email", 4725.0, 100.0, 4825.0]  # best on top, as drawn


def test_the_campaign_chart_counts_leads_in_whole_numbers():
    results = SimpleNamespace(spend=Decimal(10), revenue=Decimal(0), leads=2.5)
    week = SimpleNamespace(start=date(2026, 1, 5), results=results)
    axis = charts.campaign_weeks([week], "USD")["layout"]["yaxis2"]
    assert axis["tickformat"] == ",d" and axis["dtick"] == 1
