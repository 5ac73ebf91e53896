"""A landing page on another origin with track.js: UTM tags survive navigation into the lead."""

import functools
import http.server
import re
import threading

import pytest

from campaigns.tests.factories import CampaignFactory
from leads.models import CaptureForm, Lead, Submission

pytestmark = pytest.mark.django_db(transaction=True)

PAGE_ONE = """<!doctype html><html><head><title>Acme</title><link rel="icon" href="data:,">
<script src="{clm}/static/clm/track.js" data-clm-endpoint="{clm}" defer></script></head>
<body><h1>Acme Analytics</h1><a id="next" href="/pricing.html">See pricing</a></body></html>"""

PAGE_TWO = """<!doctype html><html><head><title>Pricing</title><link rel="icon" href="data:,">
<script src="{clm}/static/clm/track.js" data-clm-endpoint="{clm}" defer></script></head>
<body><h1>Pricing</h1>
<form id="demo" data-clm-form="{key}" action="{clm}/api/v1/capture/{key}/" method="post"
      data-clm-success-message="Thanks, we will call you.">
  <input name="email" type="email" required> <input name="name" type="text">
  <input name="company" type="text"><button type="submit">Book a demo</button>
</form></body></html>"""


@pytest.fixture
def landing_site(tmp_path, live_server):
    """A static site on another loopback port (another origin than CLM)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    form = CaptureForm.objects.create(name="Demo", allowed_origins=[origin], min_fill_seconds=1)
    clm = live_server.url
    (tmp_path / "index.html").write_text(PAGE_ONE.format(clm=clm))
    (tmp_path / "pricing.html").write_text(PAGE_TWO.format(clm=clm, key=form.key))
    yield origin, form
    server.shutdown()


def test_a_visitor_from_a_paid_search_ad_becomes_a_lead_with_the_whole_journey(
    page, screenshot, landing_site
):
    origin, _form = landing_site
    spring = CampaignFactory(name="Spring", utm_campaign="spring")
    page.goto(f"{origin}/?utm_source=google&utm_medium=cpc&utm_campaign=spring")
    page.wait_for_function("window.CLM && window.CLM.visitorId()")
    page.click("#next")
    page.wait_for_url(re.compile(r"/pricing\.html$"))
    page.fill("[name=email]", "grace@hopper.dev")
    page.fill("[name=name]", "Grace Hopper")
    page.fill("[name=company]", "Navy")
    page.wait_for_timeout(1200)  # a person takes longer than the bot threshold
    page.click("button[type=submit]")
    page.get_by_text("Thanks, we will call you.").wait_for(timeout=10000)
    screenshot("capture-second-origin")

    lead = Lead.objects.get()
    assert Submission.objects.get().status == "accepted"
    page.wait_for_timeout(1500)  # the last page views are flushed by sendBeacon
    journey = list(lead.touchpoints.order_by("occurred_at", "id"))
    kinds = [t.kind for t in journey]
    assert kinds.count("page_view") >= 2
    assert "form_submit" in kinds
    assert {t.channel.name for t in journey} == {"Paid Search"}
    assert {t.campaign for t in journey} == {spring}
    assert lead.first_touch.kind == "page_view"
    assert lead.creation_touch.utm_campaign == "spring"
    assert lead.first_name == "Grace"
    assert page.console_errors == []
