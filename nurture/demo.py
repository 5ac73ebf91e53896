"""Demo rows for segments, nurture and tracked links (called by demo.generator.generate)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.test.utils import override_settings

from campaigns.models import Campaign
from campaigns.services import TrackedLinkRefused, tracked_link_create
from leads.selectors import utm_values_seen

DEMO_SITE = "https://www.acme-analytics.example"
LINKS = [
    # (utm_campaign, destination, source, medium, content)
    ("search_brand", f"{DEMO_SITE}/", "google", "cpc", ""),
    ("search_brand", f"{DEMO_SITE}/demo", "google", "cpc", "sitelink-demo"),
    ("linkedin_abm", f"{DEMO_SITE}/", "linkedin", "paid_social", ""),
    ("newsletter", f"{DEMO_SITE}/", "newsletter", "email", ""),
]
STEPS = [
    ("Welcome to Acme, {{ first_name }}", 0,
     "Hi {{ first_name }},\n\nThanks for your interest in Acme Analytics. Our "
     "[getting-started guide](https://www.acme-analytics.example/guide) shows how teams like "
     "{{ company }} close the loop between marketing and sales.\n\nThe Acme team"),
    ("How {{ company }} can measure ROI per channel", 3,
     "Hi {{ first_name }},\n\nSee a live dashboard: https://www.acme-analytics.example/demo"),
    ("Still deciding?", 7,
     "Book 20 minutes with us: [pick a time](https://www.acme-analytics.example/book)"),
]  # fmt: skip


def generate(*, now: datetime, rng: Any, log: Callable[[str], None]) -> dict[str, int]:
    """Tracked links, two segments and one active sequence with sends, opens and clicks."""
    from nurture import rendering, services
    from nurture.models import Enrollment, Segment, Sequence, Step

    def existing(name: str) -> Segment | None:
        return Segment.objects.filter(name=name).first()

    links = 0
    campaigns = {c.utm_campaign: c for c in Campaign.objects.all()}
    for utm_campaign, destination, source, medium, content in LINKS:
        if utm_campaign not in campaigns:
            continue
        try:
            tracked_link_create(
                campaign=campaigns[utm_campaign], destination=destination, source=source,
                medium=medium, content=content, seen=utm_values_seen,
            )  # fmt: skip
            links += 1
        except TrackedLinkRefused as exc:  # the rules were edited: skip, never fail the demo
            log(f"  tracked link skipped: {exc}")
    welcome = services.segment_save(
        segment=existing("Consenting new leads"),
        name="Consenting new leads",
        description="New or contacted leads who agreed to marketing email.",
        definition={"op": "and", "rules": [
            {"field": "consent", "op": "is", "value": True},
            {"field": "stage", "op": "in", "value": ["new", "contacted"]},
        ]},
    )  # fmt: skip
    services.segment_save(
        segment=existing("Stalled opportunities"),
        name="Stalled opportunities",
        description="Opportunities nobody worked in two weeks, from paid channels or search.",
        definition={"op": "and", "rules": [
            {"field": "stage", "op": "in", "value": ["opportunity"]},
            {"field": "days_since_activity", "op": "gt", "value": 14},
            {"op": "or", "rules": [
                {"field": "first_channel", "op": "in", "value": ["Paid Search", "Paid Social"]},
                {"field": "latest_channel", "op": "in", "value": ["Organic Search"]},
            ]},
        ]},
    )  # fmt: skip
    sequence, created = Sequence.objects.get_or_create(
        slug="welcome-series",
        defaults={"name": "Welcome series", "segment": welcome, "status": Sequence.Status.ACTIVE},
    )
    for position, (subject, delay, body) in enumerate(STEPS, start=1):
        if created:
            Step.objects.create(
                sequence=sequence, position=position, subject=subject, body=body,
                delay_days=delay,
            )  # fmt: skip
    services.sequence_register_campaign(sequence=sequence)
    started = now - timedelta(days=12)
    services.sequence_enroll(sequence=sequence, now=started)
    sends = []
    # Sent into memory: the demo must not print or deliver mail.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        enrolled = list(
            Enrollment.objects.filter(sequence=sequence).order_by("id").values_list("pk", flat=True)
        )[:60]
        for days in (0, 3, 7):
            for pk in enrolled:
                send = services.enrollment_send_next(
                    enrollment_id=pk, now=started + timedelta(days=days, minutes=5)
                )
                if send is not None:
                    sends.append(send)
            if days == 0:  # a few unsubscribe after the first email: no more steps for them
                for send in sends[:3]:
                    services.send_unsubscribe(send_id=send.pk, at=send.sent_at + timedelta(days=1))
    clicks = 0
    for send in sends:
        at = send.sent_at + timedelta(hours=float(rng.uniform(0.5, 30)))
        if rng.random() < 0.55:
            services.send_record_open(send_id=send.pk, at=at)
        targets = rendering.links(send.step.body)
        if targets and rng.random() < 0.22:
            url = services.tagged_destination(url=targets[0], sequence=sequence, step=send.step)
            services.send_record_click(send_id=send.pk, url=url, at=at)
            clicks += 1
    return {"tracked_links": links, "segments": 2, "nurture_emails": len(sends),
            "nurture_clicks": clicks}  # fmt: skip
