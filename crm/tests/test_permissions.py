"""Who may do what: every CRM page and API endpoint, for every kind of user.

All records belong to rep A. Expected statuses are explicit per (endpoint, actor). A request
that is refused (anything but a 2xx or a redirect after a successful page write) must leave
the CRM data exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.urls import resolve, reverse
from django.utils import timezone

from crm.models import (
    Account,
    AccountContact,
    Activity,
    Deal,
    DealContact,
    DisqualifyReason,
    LeadFeedback,
    LeadHistory,
    QualityReason,
    SavedView,
    Task,
)
from crm.services import account_assign_lead, account_create, deal_contact_add
from crm.tests.factories import ActivityFactory, DealFactory, stage
from leads.models import Lead
from leads.tests.factories import LeadFactory

ACTORS = ["anonymous", "rep_a", "rep_b", "manager", "marketer", "admin"]


@dataclass
class World:
    users: dict[str, Any]
    lead: Lead
    activity: Activity
    deal: Deal
    won_deal: Deal
    feedback: LeadFeedback
    task: Task
    view: SavedView
    account: Account
    deal_contact: DealContact
    colleague: Lead


@pytest.fixture
def world(rep, other_rep, manager, marketer, admin) -> World:
    lead = LeadFactory(owner=rep)
    deal = DealFactory(lead=lead, name="Open deal")
    account = account_create(name="Acme", domains=["acme-matrix.com"], by=None)
    account_assign_lead(lead=lead, account=account, by=None)
    colleague = LeadFactory(owner=rep)
    return World(
        users={
            "rep_a": rep,
            "rep_b": other_rep,
            "manager": manager,
            "marketer": marketer,
            "admin": admin,
        },
        lead=lead,
        activity=ActivityFactory(lead=lead, by=rep),
        deal=deal,
        won_deal=DealFactory(
            lead=lead, name="Won deal", stage=stage("won"), closed_at=timezone.now()
        ),
        feedback=LeadFeedback.objects.create(lead=lead, rating="good", by=rep),
        task=Task.objects.create(
            lead=lead, assignee=rep, title="Call back", due_at=timezone.now(), created_by=rep
        ),
        view=SavedView.objects.create(owner=rep, name="Mine", query="q=x"),
        account=account,
        deal_contact=deal_contact_add(deal=deal, lead=colleague, role="champion", by=None),
        colleague=colleague,
    )


@dataclass(frozen=True)
class Call:
    method: str
    url: Any  # World -> str
    data: Any = None  # World -> dict
    api: bool = False


def page(name: str, obj: str | None = None) -> Any:
    return lambda w: reverse(name, args=[getattr(w, obj).pk] if obj else [])


def api(name: str, obj: str | None = None) -> Any:
    return lambda w: reverse(f"crm-api:{name}", args=[getattr(w, obj).pk] if obj else [])


def lead_id(w: World) -> dict[str, Any]:
    return {"lead": w.lead.pk}


def task_input(w: World) -> dict[str, Any]:
    due = timezone.localtime() + timedelta(hours=1)
    return {"title": "Follow up", "kind": "call", "due_at": due.strftime("%Y-%m-%dT%H:%M")}


# endpoint -> (call, expected status for anonymous, rep_a, rep_b, manager, marketer, admin).
# The API answers 401 without credentials (it takes tokens too); pages redirect to the login.
MATRIX: dict[str, tuple[Call, tuple[int, ...]]] = {
    # --- Pages ---
    "page queue read": (Call("get", page("crm:queue")), (302, 200, 200, 200, 200, 200)),
    "page lead read": (Call("get", page("crm:lead", "lead")), (302, 200, 404, 200, 200, 200)),
    "page lead log activity": (
        Call("post", page("crm:lead-activity", "lead"),
             lambda w: {"kind": "call", "outcome": "connected"}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page lead change stage": (
        Call("post", page("crm:lead-stage", "lead"), lambda w: {"stage": "qualified"}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page lead change stage by GET": (
        Call("get", page("crm:lead-stage", "lead")), (405, 405, 405, 405, 405, 405),
    ),
    "page lead rate": (
        Call("post", page("crm:lead-rate", "lead"), lambda w: {"rating": "good"}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page lead place in account": (
        Call("post", page("crm:lead-account", "lead"), lambda w: {"account": w.account.pk}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page deal buying group add or re-role": (
        Call("post", page("crm:deal-contact", "deal"),
             lambda w: {"lead": w.lead.pk, "role": "decision_maker"}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page deal buying group remove": (
        Call("post", page("crm:deal-contact-remove", "deal_contact"), lambda w: {}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page lead heard about": (
        Call("post", page("crm:lead-heard-about", "lead"), lambda w: {"heard_about": "podcast"}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page lead create deal": (
        Call("post", page("crm:lead-deal", "lead"), lambda w: {"name": "New", "amount": "10"}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page deal mark won": (
        Call("post", page("crm:deal-close", "deal"), lambda w: {"outcome": "won"}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page deal move stage": (
        Call("post", page("crm:deal-stage", "deal"), lambda w: {"stage": stage("proposal").pk}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page deal reopen": (
        Call("post", page("crm:deal-reopen", "won_deal"), lambda w: {}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page lead assign": (
        Call("post", page("crm:lead-assign", "lead"),
             lambda w: {"owner": w.users["rep_b"].pk}),
        (302, 403, 403, 302, 403, 302),
    ),
    "page bulk assign": (
        Call("post", page("crm:bulk-assign"),
             lambda w: {"leads": [w.lead.pk], "owner": w.users["rep_b"].pk}),
        (302, 403, 403, 302, 403, 302),
    ),
    "page my day read": (Call("get", page("crm:my-day")), (302, 200, 200, 200, 403, 200)),
    "page lead add follow-up": (
        Call("post", page("crm:lead-task", "lead"), task_input),
        (302, 302, 404, 302, 403, 302),
    ),
    "page task done": (
        Call("post", page("crm:task-done", "task"), lambda w: {}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page task reopen": (
        Call("post", page("crm:task-reopen", "task"), lambda w: {}),
        (302, 302, 404, 302, 403, 302),
    ),
    "page task done by GET": (
        Call("get", page("crm:task-done", "task")), (405, 405, 405, 405, 405, 405),
    ),
    # rep B's ticked lead is not one they may choose: the form refuses it (a message, no change).
    "page bulk stage": (
        Call("post", page("crm:bulk-stage"),
             lambda w: {"leads": [w.lead.pk], "stage": "contacted"}),
        (302, 302, 302, 302, 403, 302),
    ),
    "page save view": (
        Call("post", page("crm:view-save"), lambda w: {"name": "New view", "query": "q=y"}),
        (302, 302, 302, 302, 302, 302),
    ),
    "page delete view": (
        Call("post", page("crm:view-delete", "view"), lambda w: {}),
        (302, 302, 404, 404, 404, 404),
    ),
    "page accounts read": (Call("get", page("crm:accounts")), (302, 200, 200, 200, 200, 200)),
    "page account read": (
        Call("get", page("crm:account", "account")), (302, 200, 404, 200, 200, 200),
    ),
    "page sales dashboard read": (
        Call("get", page("crm:sales-dashboard")), (302, 403, 403, 200, 200, 200),
    ),
    "page sales dashboard export": (
        Call("get", lambda w: reverse("crm:sales-dashboard-export", args=["waiting"])),
        (302, 403, 403, 200, 200, 200),
    ),
    # --- API: leads ---
    "api leads list": (Call("get", api("lead-list"), api=True), (401, 200, 200, 200, 200, 200)),
    "api leads read": (
        Call("get", api("lead-detail", "lead"), api=True), (401, 200, 404, 200, 200, 200),
    ),
    "api leads history read": (
        Call("get", api("lead-history", "lead"), api=True), (401, 200, 404, 200, 200, 200),
    ),
    "api leads create": (
        Call("post", api("lead-list"), lambda w: {"email": "x@y.io"}, api=True),
        (401, 405, 405, 405, 403, 405),
    ),
    "api leads update": (
        Call("patch", api("lead-detail", "lead"), lambda w: {"stage": "qualified"}, api=True),
        (401, 200, 404, 200, 403, 200),
    ),
    "api leads replace": (
        Call("put", api("lead-detail", "lead"), lambda w: {"stage": "qualified"}, api=True),
        (401, 405, 405, 405, 403, 405),
    ),
    "api leads reassign": (
        Call("patch", api("lead-detail", "lead"), lambda w: {"owner": w.users["rep_b"].pk},
             api=True),
        # A rep's `owner` is read-only: ignored (200, unchanged), checked below.
        (401, 200, 404, 200, 403, 200),
    ),
    "api leads delete": (
        Call("delete", api("lead-detail", "lead"), api=True), (401, 403, 403, 405, 403, 405),
    ),
    # --- API: activities ---
    "api activities list": (
        Call("get", api("activity-list"), api=True), (401, 200, 200, 200, 200, 200),
    ),
    "api activities read": (
        Call("get", api("activity-detail", "activity"), api=True), (401, 200, 404, 200, 200, 200),
    ),
    "api activities create": (
        Call("post", api("activity-list"), lambda w: {**lead_id(w), "kind": "call"}, api=True),
        (401, 201, 400, 201, 403, 201),
    ),
    "api activities update": (
        Call("patch", api("activity-detail", "activity"), lambda w: {"notes": "x"}, api=True),
        (401, 200, 404, 200, 403, 200),
    ),
    "api activities delete": (
        Call("delete", api("activity-detail", "activity"), api=True),
        (401, 403, 403, 204, 403, 204),
    ),
    # --- API: deals ---
    "api deals list": (Call("get", api("deal-list"), api=True), (401, 200, 200, 200, 200, 200)),
    "api deals read": (
        Call("get", api("deal-detail", "deal"), api=True), (401, 200, 404, 200, 200, 200),
    ),
    "api deals create": (
        Call("post", api("deal-list"), lambda w: {**lead_id(w), "name": "API deal"}, api=True),
        (401, 201, 400, 201, 403, 201),
    ),
    "api deals update": (
        Call("patch", api("deal-detail", "deal"), lambda w: {"amount": "42.00"}, api=True),
        (401, 200, 404, 200, 403, 200),
    ),
    "api deals delete": (
        Call("delete", api("deal-detail", "deal"), api=True), (401, 403, 403, 204, 403, 204),
    ),
    # --- API: accounts and deal contacts ---
    "api accounts list": (
        Call("get", api("account-list"), api=True), (401, 200, 200, 200, 200, 200),
    ),
    "api accounts read": (
        Call("get", api("account-detail", "account"), api=True), (401, 200, 404, 200, 200, 200),
    ),
    "api accounts create": (
        Call("post", api("account-list"), lambda w: {"name": "Globex"}, api=True),
        (401, 403, 403, 201, 403, 201),
    ),
    # A rep who sees the account but does not own it may not change it.
    "api accounts update": (
        Call("patch", api("account-detail", "account"), lambda w: {"tier": "1"}, api=True),
        (401, 403, 404, 200, 403, 200),
    ),
    "api accounts delete": (
        Call("delete", api("account-detail", "account"), api=True),
        (401, 403, 403, 405, 403, 405),
    ),
    "api accounts add contact": (
        Call("post", api("account-contacts", "account"),
             lambda w: {"lead": w.colleague.pk}, api=True),
        (401, 200, 404, 200, 403, 200),
    ),
    "api deal contacts list": (
        Call("get", api("deal-contact-list"), api=True), (401, 200, 200, 200, 200, 200),
    ),
    "api deal contacts read": (
        Call("get", api("deal-contact-detail", "deal_contact"), api=True),
        (401, 200, 404, 200, 200, 200),
    ),
    "api deal contacts create": (
        Call("post", api("deal-contact-list"),
             lambda w: {"deal": w.deal.pk, "lead": w.colleague.pk, "role": "user"}, api=True),
        (401, 201, 400, 201, 403, 201),
    ),
    "api deal contacts update": (
        Call("patch", api("deal-contact-detail", "deal_contact"),
             lambda w: {"role": "influencer"}, api=True),
        (401, 200, 404, 200, 403, 200),
    ),
    "api deal contacts delete": (
        Call("delete", api("deal-contact-detail", "deal_contact"), api=True),
        (401, 403, 403, 204, 403, 204),
    ),
    # --- API: feedback ---
    "api feedback list": (
        Call("get", api("feedback-list"), api=True), (401, 200, 200, 200, 200, 200),
    ),
    "api feedback read": (
        Call("get", api("feedback-detail", "feedback"), api=True), (401, 200, 404, 200, 200, 200),
    ),
    "api feedback create": (
        Call("post", api("feedback-list"), lambda w: {**lead_id(w), "rating": "good"}, api=True),
        (401, 201, 400, 201, 403, 201),
    ),
    "api feedback update": (
        Call("patch", api("feedback-detail", "feedback"), lambda w: {"note": "x"}, api=True),
        (401, 405, 405, 405, 403, 405),
    ),
    "api feedback delete": (
        Call("delete", api("feedback-detail", "feedback"), api=True),
        (401, 403, 403, 405, 403, 405),
    ),
    "api feedback quality read": (
        Call("get", api("feedback-quality"), api=True), (401, 200, 200, 200, 200, 200),
    ),
    # --- API: tasks ---
    "api tasks list": (Call("get", api("task-list"), api=True), (401, 200, 200, 200, 200, 200)),
    "api tasks read": (
        Call("get", api("task-detail", "task"), api=True), (401, 200, 404, 200, 200, 200),
    ),
    "api tasks create": (
        Call("post", api("task-list"),
             lambda w: {**lead_id(w), "title": "API task",
                        "due_at": (timezone.now() + timedelta(hours=1)).isoformat()},
             api=True),
        (401, 201, 400, 201, 403, 201),
    ),
    "api tasks update": (
        Call("patch", api("task-detail", "task"), lambda w: {"done": True}, api=True),
        (401, 200, 404, 200, 403, 200),
    ),
    "api tasks delete": (
        Call("delete", api("task-detail", "task"), api=True), (401, 403, 403, 204, 403, 204),
    ),
    # --- API: the editable lists (edited in the admin only) ---
    "api pipeline stages list": (
        Call("get", api("pipeline-stage-list"), api=True), (401, 200, 200, 200, 200, 200),
    ),
    "api pipeline stages create": (
        Call("post", api("pipeline-stage-list"), lambda w: {"name": "X"}, api=True),
        (401, 405, 405, 405, 403, 405),
    ),
    "api pipeline stages read": (
        Call("get", lambda w: reverse("crm-api:pipeline-stage-detail", args=[stage("won").pk]),
             api=True),
        (401, 200, 200, 200, 200, 200),
    ),
    "api disqualify reasons read": (
        Call("get", lambda w: reverse("crm-api:disqualify-reason-detail",
                                      args=[DisqualifyReason.objects.first().pk]), api=True),
        (401, 200, 200, 200, 200, 200),
    ),
    "api quality reasons read": (
        Call("get", lambda w: reverse("crm-api:quality-reason-detail",
                                      args=[QualityReason.objects.first().pk]), api=True),
        (401, 200, 200, 200, 200, 200),
    ),
    "api disqualify reasons list": (
        Call("get", api("disqualify-reason-list"), api=True), (401, 200, 200, 200, 200, 200),
    ),
    "api quality reasons list": (
        Call("get", api("quality-reason-list"), api=True), (401, 200, 200, 200, 200, 200),
    ),
}  # fmt: skip

CASES = [
    pytest.param(endpoint, actor, expected[i], id=f"{endpoint} | {actor}")
    for endpoint, (_call, expected) in MATRIX.items()
    for i, actor in enumerate(ACTORS)
]


def snapshot(w: World) -> tuple[Any, ...]:
    lead = Lead.objects.get(pk=w.lead.pk)
    deals = tuple(Deal.objects.order_by("id").values_list("id", "stage_id", "amount", "closed_at"))
    return (
        lead.stage,
        lead.owner_id,
        tuple(Activity.objects.order_by("id").values_list("id", "notes")),
        deals,
        tuple(LeadFeedback.objects.order_by("id").values_list("id", "is_current")),
        LeadHistory.objects.count(),
        tuple(Task.objects.order_by("id").values_list("id", "done_at", "title", "assignee_id")),
        tuple(SavedView.objects.order_by("id").values_list("id", "name", "query", "shared")),
        tuple(Account.objects.order_by("id").values_list("id", "name", "tier", "owner_id")),
        tuple(AccountContact.objects.order_by("id").values_list("lead_id", "account_id")),
        tuple(DealContact.objects.order_by("id").values_list("id", "lead_id", "role")),
    )


@pytest.mark.django_db
@pytest.mark.parametrize(("endpoint", "actor", "expected"), CASES)
def test_permission_matrix(client, world, endpoint, actor, expected):
    call, _ = MATRIX[endpoint]
    if actor != "anonymous":
        client.force_login(world.users[actor])
    before = snapshot(world)
    url = call.url(world)
    data = call.data(world) if call.data else None
    if call.api and call.method in ("post", "patch", "put"):
        response = getattr(client, call.method)(url, data, content_type="application/json")
    elif call.method in ("get", "delete"):
        response = getattr(client, call.method)(url)
    else:
        response = getattr(client, call.method)(url, data or {})
    assert response.status_code == expected, getattr(response, "content", b"")[:300]
    if actor == "anonymous" and expected == 302:
        assert response.url.startswith(reverse("login"))
    wrote = call.method != "get" and expected in (200, 201, 204, 302) and actor != "anonymous"
    if not wrote or (endpoint == "api leads reassign" and actor.startswith("rep")):
        assert snapshot(world) == before, "a refused request changed data"


@pytest.mark.django_db
def test_the_matrix_covers_every_crm_page_and_api_route(world):
    from crm import api_urls, urls

    covered = {resolve(call.url(world)).view_name for call, _expected in MATRIX.values()}
    pages = {f"crm:{p.name}" for p in urls.urlpatterns}
    routes = {f"crm-api:{p.name}" for p in api_urls.urlpatterns}
    assert pages | routes <= covered, (pages | routes) - covered
