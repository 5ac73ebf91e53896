"""No page shows what the viewer's role may not see: a walk of every route, as every role.

The demo data (seed_demo) plus, for each demo rep, a few leads with names and addresses no
other lead has, each with a journey, a deal, an activity, a rating, a waiting-past-the-SLA
alert and a place in a segment. Logged in as each demo user, the walk opens every named GET
route of the site (found in the URL resolver, so a new page is walked without being listed
here), with its ids filled from other reps' objects, every CSV export, every API list and
detail, the drill-downs, the alerts, the segment member lists and the searches. It fails when
a rep's answer names a lead outside crm.permissions.lead_scope (its address, its full name, a
link to it, or its id in JSON), or when any answer is a server error. Routes that are not
walked are in SKIP, each with its reason.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from clm import roles

pytestmark = pytest.mark.django_db

# Route names (namespace:name) the walk does not open, and why.
SKIP = {
    "logout": "ends the session the walk runs in",
    "set_language": "POST only: switches the interface language, shows no data",
    "spam-release": "POST only (Admins): captures a held post; leads/tests/test_spam_review.py",
    "password_change_done": "a fixed confirmation text",
    "leads-api:capture": "public capture endpoint (POST); answers no lead data by contract",
    "leads-api:track": "public page-view endpoint (POST); answers no lead data",
    "leads:landing": "public landing page of a capture form",
    "leads:thanks": "public thank-you page",
    "nurture-public:click": "public email link: a signed token, redirects to the destination",
    "nurture-public:open": "public open pixel: a signed token, a GIF",
    "nurture-public:unsubscribe": "public unsubscribe page of a signed token, no lead listed",
    "short-link": "public short link: redirects to a tracked link's landing page",
    "attribution:shared": "public share link: its own tests (attribution/tests/test_api.py)",
    "api-schema": "the OpenAPI document: no data",
    "api-docs": "Swagger UI: no data",
}
# The Django admin is for staff (admins); reps are refused at its door (checked below).
SKIP_PREFIXES = {"admin/": "the Django admin: staff only, its door is checked for reps"}

# Objects that fill the <pk> of template routes. API routes find theirs from the basename.
PK_MODELS = {
    "campaigns:detail": "campaigns.Campaign",
    "campaigns:edit": "campaigns.Campaign",
    "campaigns:link-preview": "campaigns.Campaign",
    "campaigns:link-qr": "campaigns.TrackedLink",
    "campaigns:reclassify-status": "campaigns.ReclassifyJob",
    "campaigns:reclassify-undo": "campaigns.ReclassifyJob",
    "crm:lead": "leads.Lead",
    "insights:alert-action": "insights.Alert",
    "crm:lead-activity": "leads.Lead",
    "crm:lead-stage": "leads.Lead",
    "crm:lead-assign": "leads.Lead",
    "crm:lead-rate": "leads.Lead",
    "crm:lead-heard-about": "leads.Lead",
    "crm:account": "crm.Account",  # the combined journey names every contact
    "crm:lead-deal": "leads.Lead",
    "crm:lead-account": "leads.Lead",  # place in / take out of an account (POST)
    "crm:deal-contact": "crm.Deal",  # add or re-role a buying-group person (POST)
    "crm:deal-contact-remove": "crm.DealContact",
    "crm:deal-stage": "crm.Deal",
    "attribution:deal-credits": "crm.Deal",  # a deal's split over its touches, per model
    "crm:deal-close": "crm.Deal",
    "crm:deal-reopen": "crm.Deal",
    "crm:lead-task": "leads.Lead",
    "crm:task-done": "crm.Task",
    "crm:task-reopen": "crm.Task",
    "crm:view-delete": "crm.SavedView",
    "integrations:token-revoke": "integrations.ApiToken",
    "conversions:action": "integrations.ConversionAction",  # lists conversions by lead
    "conversions:export": "integrations.ConversionAction",
    "nurture:segment": "nurture.Segment",
    "nurture:segment-edit": "nurture.Segment",
    "nurture:segment-refresh": "nurture.Segment",
    "nurture:segment-export": "nurture.Segment",
    "nurture:sequence": "nurture.Sequence",
    "nurture:sequence-edit": "nurture.Sequence",
    "nurture:sequence-status": "nurture.Sequence",
}
API_MODELS = {"feedback": "crm.LeadFeedback", "run": "attribution.AttributionRun"}
# Values of other path parameters.
TABLES = {
    "attribution:export": ["channels", "campaigns"],
    "crm:sales-dashboard-export": None,  # crm.dashboards.EXPORT_COLUMNS
}


# --- The seeded world --------------------------------------------------------------------------


def _secret_leads(rep: Any, n: int, now: Any) -> list[Any]:
    """Leads of `rep` that no other lead resembles, with everything a page can show of them."""
    from crm.models import LeadFeedback
    from crm.tests.factories import ActivityFactory, DealFactory, lead_with_journey, stage

    made = []
    tag = rep.username.capitalize()
    for i in range(n):
        lead = lead_with_journey(
            owner=rep,
            email=f"walk-{rep.username}-{i}@only-{rep.username}.example",
            first_name=f"Walk{tag}",
            last_name=f"Secret{tag}{i}x",
            company=f"Hidden{tag} Ltd",
            stage="new",
            created_at=now - timedelta(hours=30 + i),
            touches=[
                {"channel_name": "Paid Search", "occurred_at": now - timedelta(days=3)},
                {"channel_name": "Email", "occurred_at": now - timedelta(days=2)},
            ],
        )
        ActivityFactory(lead=lead, by=rep, kind="note", occurred_at=now - timedelta(days=1))
        DealFactory(lead=lead, name=f"Deal of Walk{tag} {i}", stage=stage("won"), closed_at=now)
        LeadFeedback.objects.create(lead=lead, rating="good", by=rep)
        # A note is contact-free: the lead still waits for a first contact.
        type(lead).objects.filter(pk=lead.pk).update(last_contacted_at=None, stage="new")
        made.append(lead)
    return made


@pytest.fixture
def world(django_capture_on_commit_callbacks: Any, celery_eager: Any) -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from insights.alerts import alerts_check_all
    from nurture import services as nurture_services

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--leads", "60", "--seed", "17", stdout=io.StringIO())
    users = {u.username: u for u in get_user_model().objects.all()}
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        for name in ("rep1", "rep2", "rep3"):
            _secret_leads(users[name], 2, now)
        alerts_check_all()
        segment = nurture_services.segment_save(
            name="Everyone (walk)", definition={"op": "and", "rules": []}
        )
        nurture_services.segment_refresh(segment=segment)
        _pages_with_ids(users, segment, now)
    return {"users": users}


def _pages_with_ids(users: dict[str, Any], segment: Any, now: Any) -> None:
    """One of each object a page with an id shows: token, tracked link, job, sequence."""
    from campaigns.models import Campaign, ReclassifyJob, TrackedLink
    from integrations.services import token_create
    from leads.models import Lead
    from nurture import services as nurture_services
    from nurture.models import Sequence, Step

    for user in users.values():
        token_create(user=user, name=f"walk {user.username}")
    TrackedLink.objects.create(
        campaign=Campaign.objects.first(), destination="https://example.com/", source="walk",
        medium="cpc", created_by=users["marketer"],
    )  # fmt: skip
    ReclassifyJob.objects.create(status="done", started_by=users["admin"], finished_at=now)
    sequence = Sequence.objects.create(
        name="Walk", slug="walk", segment=segment, status="active", created_by=users["marketer"]
    )
    Step.objects.create(sequence=sequence, position=1, subject="Hi", body="Hello", delay_days=0)
    Lead.objects.filter(email__startswith="walk-").update(consent_given=True)
    from crm.models import Deal, DealContact

    for deal in Deal.objects.filter(lead__email__startswith="walk-"):  # buying groups
        DealContact.objects.get_or_create(
            deal=deal, lead=deal.lead, defaults={"role": "decision_maker", "is_primary": True}
        )
    from integrations.models import Conversion, ConversionAction

    action = ConversionAction.objects.create(
        outcome="lead_created", platform="google", conversion_name="Walk lead"
    )
    for lead in Lead.objects.filter(email__startswith="walk-"):  # conversions naming the lead
        Conversion.objects.create(
            action=action, subject=f"lead:{lead.pk}", lead=lead, occurred_at=now,
            click_id_name="gclid", click_id=f"walk-{lead.pk}",
        )  # fmt: skip
    from crm.models import SavedView, Task

    for lead in Lead.objects.filter(email__startswith="walk-"):  # follow-ups naming the lead
        Task.objects.create(
            lead=lead, assignee=lead.owner, title=f"Call {lead.first_name} {lead.last_name}",
            due_at=now - timedelta(hours=1), created_by=lead.owner,
        )  # fmt: skip
    # A manager's view shared with everyone, filtered to rep1's leads.
    SavedView.objects.create(
        owner=users["manager"], name="rep1 walk", shared=True,
        query=f"stage=all&owner={users['rep1'].pk}&q=walk",
    )  # fmt: skip
    nurture_services.sequence_enroll(sequence=sequence, now=now - timedelta(hours=1))
    nurture_services.nurture_dispatch(now=now)


# --- Routes ------------------------------------------------------------------------------------


def _routes() -> Iterator[tuple[str, str, Any]]:
    """(route name, path prefix, pattern) of every named route, admin and skips left out."""

    def walk(patterns: list[Any], prefix: str, ns: str | None) -> Iterator[tuple[str, str, Any]]:
        for p in patterns:
            full = prefix + str(p.pattern)
            if isinstance(p, URLResolver):
                if any(full.startswith(s) for s in SKIP_PREFIXES):
                    continue
                inner = (
                    ns if p.namespace is None else (f"{ns}:{p.namespace}" if ns else p.namespace)
                )
                yield from walk(p.url_patterns, full, inner)
            elif isinstance(p, URLPattern) and p.name:
                name = f"{ns}:{p.name}" if ns else p.name
                if name not in SKIP:
                    yield name, full, p

    yield from walk(get_resolver().url_patterns, "", None)


def _model_of(name: str) -> Any:
    if name in PK_MODELS:
        return apps.get_model(PK_MODELS[name])
    if "-api:" in name:
        basename = name.split(":", 1)[1].rsplit("-", 1)[0]
        label = API_MODELS.get(basename)
        if label:
            return apps.get_model(label)
        for model in apps.get_models():
            if model._meta.model_name == basename.replace("-", ""):
                return model
    return None


def _hidden_leads(viewer: Any) -> Any:
    """Leads outside the viewer's scope (for a viewer who sees all: rep1's, to fill ids)."""
    from crm.selectors import leads_visible_to
    from leads.models import Lead

    hidden = Lead.objects.exclude(pk__in=leads_visible_to(viewer).values("pk"))
    if not hidden.exists():
        hidden = Lead.objects.filter(owner__username="rep1")
    return hidden


def _ids(model: Any, viewer: Any) -> list[Any]:
    """Ids of `model`: two on leads the viewer may not see (when it has leads) and, for a rep,
    one on their own (their own lead's page must not name anyone else's either)."""
    from crm.selectors import leads_visible_to
    from leads.models import Lead

    hidden = _hidden_leads(viewer).filter(email__startswith="walk-")
    own = leads_visible_to(viewer).filter(email__startswith="walk-")
    if not roles.has_role(viewer, roles.SALES_REP):
        own = own.none()
    names = {f.name for f in model._meta.get_fields()}
    ids: list[Any] = []
    for leads, n in ((hidden, 2), (own, 1)):
        if model is Lead:
            rows = leads
        elif "lead" in names:
            rows = model.objects.filter(lead__in=leads)
        else:
            rows = model.objects.all() if not ids else model.objects.none()
        ids += rows.order_by("pk").values_list("pk", flat=True)[:n]
    return ids


def _urls_of(name: str, path: str, pattern: Any, viewer: Any) -> list[str]:
    params = list(pattern.pattern.converters) or list(re.compile(str(pattern.pattern)).groupindex)
    if not params:
        return [reverse(name)]
    if params == ["table"]:
        tables = TABLES[name]
        if tables is None:
            from crm.dashboards import EXPORT_COLUMNS

            tables = list(EXPORT_COLUMNS)
        return [reverse(name, kwargs={"table": t}) for t in tables]
    if params == ["model"]:
        # A model's page works through a won deal the viewer may see: walk every model.
        from attribution.engine import MODELS

        return [reverse(name, kwargs={"model": m}) for m in MODELS]
    if params == ["pk"]:
        model = _model_of(name)
        assert model is not None, f"tell the walk which objects fill <pk> of {name} ({path})"
        ids = _ids(model, viewer)
        assert ids, f"the seeded world has no {model.__name__} for {name}"
        return [reverse(name, kwargs={"pk": pk}) for pk in ids]
    raise AssertionError(f"tell the walk how to fill {params} of {name} ({path}), or skip it")


def _extra_urls(viewer: Any) -> list[str]:
    """Searches, filters, drill-downs and member lists aimed at leads the viewer may not see."""
    from campaigns.models import Campaign, Channel
    from crm.models import SavedView
    from nurture.models import Segment

    hidden = list(_hidden_leads(viewer).filter(email__startswith="walk-")[:2])
    other_reps = [
        u.pk
        for u in viewer.__class__.objects.filter(groups__name=roles.SALES_REP).exclude(pk=viewer.pk)
    ]
    urls = ["/crm/?stage=all", "/crm/?stage=all&page=2", "/api/v1/leads/?page_size=200"]
    urls += ["/crm/?stage=all&format=csv", "/crm/?stage=all&q=walk&format=csv"]
    urls += ["/api/v1/tasks/?page_size=200", "/crm/my-day/"]
    for view in SavedView.objects.values_list("pk", flat=True):
        urls += [f"/crm/?view={view}", f"/crm/?view={view}&format=csv"]
    for lead in hidden:
        for q in (lead.email, lead.last_name, lead.company, lead.email.split("@")[1]):
            urls += [f"/crm/?stage=all&q={q}", f"/api/v1/leads/?q={q}"]
        for resource in ("activities", "deals", "feedback", "touchpoints", "tasks"):
            urls.append(f"/api/v1/{resource}/?lead={lead.pk}&page_size=200")
        urls.append(f"/api/v1/leads/{lead.pk}/history/")
    for owner in other_reps:
        urls += [f"/crm/?stage=all&owner={owner}", f"/api/v1/leads/?owner={owner}"]
        urls += [f"/api/v1/deals/?owner={owner}", f"/api/v1/activities/?by={owner}"]
    for resource in ("activities", "deals", "feedback", "touchpoints"):
        urls.append(f"/api/v1/{resource}/?page_size=200")
    for channel in Channel.objects.values_list("pk", flat=True):
        urls.append(f"/dashboards/marketing/deals/?channel={channel}&range=365d")
    for campaign in Campaign.objects.values_list("pk", flat=True)[:5]:
        urls.append(f"/dashboards/marketing/deals/?campaign={campaign}&range=365d")
    urls += ["/dashboards/marketing/?range=365d", "/crm/dashboard/?range=365d"]
    for segment in Segment.objects.values_list("pk", flat=True):
        urls += [
            f"/api/v1/segments/{segment}/members/?page_size=200",
            f"/nurture/segments/{segment}/?page=2",
        ]
    return urls


# --- What a rep must never see -----------------------------------------------------------------

LEAD_LINK = re.compile(r"/(?:crm/leads|admin/leads/lead)/(\d+)/")


def _secrets(viewer: Any) -> tuple[set[int], list[str]]:
    """Ids of the leads `viewer` may not see, and the texts that would name them."""
    from crm.permissions import lead_scope
    from crm.selectors import leads_visible_to
    from leads.models import Lead

    if lead_scope(viewer) == "all":
        return set(), []
    visible = leads_visible_to(viewer)
    shown_names = {
        f"{first} {last}".strip().lower()
        for first, last in visible.values_list("first_name", "last_name")
    }
    hidden = Lead.objects.exclude(pk__in=visible.values("pk"))
    ids, texts = set(), []
    for pk, email, first, last in hidden.values_list("pk", "email", "first_name", "last_name"):
        ids.add(pk)
        texts.append(email.lower())
        name = f"{first} {last}".strip().lower()
        if first and last and name not in shown_names:
            texts.append(name)
        if email.startswith("walk-"):  # the walk's leads have last names no one else has
            texts.append(last.lower())
    return ids, texts


def _json_lead_ids(data: Any, lead_route: bool) -> Iterator[int]:
    if isinstance(data, dict):
        for key, value in data.items():
            names_lead = key in ("lead", "lead_id") or (lead_route and key == "id")
            if names_lead and isinstance(value, int):
                yield value
            yield from _json_lead_ids(value, lead_route and key in ("results", "rows"))
    elif isinstance(data, list):
        for item in data:
            yield from _json_lead_ids(item, lead_route)


def _leaks(response: Any, url: str, ids: set[int], texts: list[str]) -> list[str]:
    if not ids:
        return []
    raw = response.content.decode("utf-8", "replace")
    body = html.unescape(raw)
    # What the viewer asked for may come back (a 404 page, a form's "next", the search box's
    # value): that tells them nothing they did not type.
    path, _, query = url.partition("?")
    for asked in [path, *(v for _, v in parse_qsl(query) if len(v) > 3 and not v.isdigit())]:
        body = body.replace(asked, "")
    lowered = body.lower()
    found = [f"names {t!r}" for t in texts if t in lowered]
    found += [f"links lead {m}" for m in LEAD_LINK.findall(body) if int(m) in ids]
    if response.get("Content-Type", "").startswith("application/json"):
        lead_route = url.startswith("/api/v1/leads/") or "/members/" in url
        data = json.loads(raw) if raw else None
        found += [f"returns lead {i} in JSON" for i in _json_lead_ids(data, lead_route) if i in ids]
    return found


# --- The walk ----------------------------------------------------------------------------------

DEMO_LOGINS = ["admin", "marketer", "manager", "rep1", "rep2", "rep3"]


def test_no_page_csv_or_api_answer_shows_a_rep_another_reps_lead(client, world):
    problems: list[str] = []
    walked = 0
    for username in DEMO_LOGINS:
        viewer = world["users"][username]
        client.force_login(viewer)
        ids, texts = _secrets(viewer)
        urls = [u for name, path, p in _routes() for u in _urls_of(name, path, p, viewer)]
        for url in dict.fromkeys(urls + _extra_urls(viewer)):
            response = client.get(url)
            walked += 1
            if response.status_code >= 500:
                problems.append(f"{username} GET {url}: {response.status_code}")
                continue
            for leak in _leaks(response, url, ids, texts):
                problems.append(f"{username} GET {url} ({response.status_code}) {leak}")
        if roles.has_role(viewer, roles.SALES_REP):
            assert client.get("/admin/").status_code != 200
            # The walk looks where a rep's leads are shown: their own are there.
            for url, own in (
                ("/crm/?stage=all", f"walk{username} secret{username}0x"),
                ("/insights/alerts/", f"walk{username} secret{username}0x"),
                (f"/api/v1/leads/?q=walk-{username}", f"secret{username}0x"),
            ):
                assert own in html.unescape(client.get(url).content.decode()).lower(), url
    assert walked > 500, walked
    assert not problems, "\n".join(problems)
    _the_walk_sees_a_leak_when_there_is_one(client, world)


def _the_walk_sees_a_leak_when_there_is_one(client: Any, world: dict[str, Any]) -> None:
    """The walk's own check: a page that names another rep's lead is caught."""
    rep1 = world["users"]["rep1"]
    ids, texts = _secrets(rep1)
    other = _hidden_leads(rep1).filter(owner__username="rep2", email__startswith="walk-").first()
    client.force_login(world["users"]["manager"])  # who may see it
    for url in (f"/crm/leads/{other.pk}/", f"/api/v1/deals/?lead={other.pk}"):
        assert _leaks(client.get(url), "/elsewhere/", ids, texts), url
