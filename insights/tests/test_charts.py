"""The interval chart: error bars from the stored bounds, thin channels marked, outliers clipped."""

from types import SimpleNamespace

from insights.charts import roi_intervals


def row(name, roi, low, high, *, small=False, deals=30):
    return SimpleNamespace(channel=SimpleNamespace(name=name), roi=roi, roi_low=low,
                           roi_high=high, small_sample=small, deals=deals)  # fmt: skip


def test_error_bars_reach_the_interval_bounds_and_thin_channels_are_marked():
    fig = roi_intervals([row("Search", 1.0, 0.5, 1.8), row("Display", -0.2, -0.6, 0.3, small=True)])
    bars = fig["data"][0]
    assert bars["y"] == ["Display ⚠", "Search"]
    assert bars["x"] == [-20.0, 100.0]
    assert bars["error_x"]["arrayminus"] == [40.0, 50.0]
    assert bars["error_x"]["array"] == [50.0, 80.0]


def test_one_huge_roi_does_not_squash_the_others():
    fig = roi_intervals([row("Email", 20.0, 5.0, 39.0), row("Search", 1.0, 0.5, 1.8),
                         row("Display", -0.2, -0.6, 0.3)])  # fmt: skip
    assert fig["layout"]["xaxis"]["range"][1] == 540.0
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["2,000% →"]


def test_no_channel_with_spend_gives_an_empty_chart_that_says_why():
    fig = roi_intervals([])
    assert "No channel with spend" in fig["layout"]["annotations"][0]["text"]
