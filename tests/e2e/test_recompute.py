"""Recompute attribution as under `make run`: a real worker process (filesystem broker) does
the run while the page shows its progress; a double click starts one run."""

from __future__ import annotations

import time

from attribution.models import AttributionRun
from attribution.tests.factories import lead_with_journey, won_deal
from clm import roles


def test_a_double_click_on_recompute_starts_one_run_whose_progress_shows_until_done(
    page, login, make_user, local_worker, screenshot
):
    make_user(roles.MARKETER, username="mk")
    channels = ["Paid Search", "Email", "Organic Search", "Paid Social", "Direct"]
    for i in range(20):
        lead = lead_with_journey(f"rc{i}@x.io", channels[i % 5 :] + channels[: i % 5])
        if i % 2 == 0:
            won_deal(lead, f"{200 + i}.00")
    login("mk")
    page.goto("/dashboards/marketing/")
    page.wait_for_load_state("networkidle")
    posts = []
    page.on("response", lambda r: posts.append(r) if r.request.method == "POST" else None)

    page.dblclick("#recompute")

    banner = page.wait_for_selector("[data-running]", timeout=15_000)
    assert banner is not None
    assert page.is_disabled("#recompute")  # no second run from this page while one runs
    shot = screenshot("recompute-progress")
    assert shot.exists()
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and page.query_selector("[data-running]"):
        bar = page.query_selector("#run-progress")
        if bar is not None:
            seen.append(int(bar.evaluate("e => e.value")))
        time.sleep(0.2)
    page.wait_for_selector("#run-id", timeout=10_000)

    run = AttributionRun.objects.get()  # one run, however fast the clicks were
    assert run.status == AttributionRun.Status.DONE
    assert page.text_content("#run-id") == str(run.pk)
    assert not page.is_disabled("#recompute")
    assert len(posts) == 1 and posts[0].status == 202
    # The answer came before the work: the run was only queued when the request returned.
    assert posts[0].json()["run"]["status"] == "queued"
    assert seen and all(0 <= v <= 100 for v in seen)
    assert seen == sorted(seen)  # progress only moves forward
    assert "started" in page.text_content("#recompute-message")
    assert page.console_errors == []
