"""Sales pages: the reps' work queue, the lead page with its quick actions, the dashboard.

Every lead, deal and choice is looked up through crm.selectors (a rep reaching another rep's
lead gets a 404); every write goes through crm.services; marketers may read, not write (403).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from clm import roles
from crm import selectors, services
from crm.buying_group import buying_group_context
from crm.forms import (
    ActivityForm,
    AssignForm,
    BulkAssignForm,
    DealCloseForm,
    DealForm,
    DealStageForm,
    FeedbackForm,
    HeardAboutForm,
    StageForm,
    TaskForm,
)
from crm.models import Activity, LeadFeedback, QualityReason
from crm.permissions import CHANGE, MANAGE, may_change, may_manage, sees_all
from crm.queue_views import queue_export, saved_view_of
from crm.services.activities import OUTCOMES_BY_KIND, TOUCH_KINDS
from crm.services.queue import VIEW_KEYS, view_query
from crm.services.tasks import PROPOSALS
from crm.task_views import task_context
from leads import services as lead_services
from leads.heard_about import answer_label, form_options
from leads.models import Lead

QUEUE_PAGE_SIZE = 50


def _id_or_none(value: str | None) -> int | None:
    # A row id: digits that fit a 64-bit column, else no filter (never a database error).
    return int(value) if value and value.isdigit() and len(value) <= 18 else None


def _owner_filter(value: str) -> str:
    return value if value in ("me", "none") or _id_or_none(value) else ""


def _queue_params(request: HttpRequest) -> QueryDict:
    """The queue's parameters: the request's, or those of the saved view `?view=<id>` opened
    alone. A view holds filters only: it applies to the leads the viewer may see."""
    view = saved_view_of(request)
    if view is not None and not any(k in request.GET for k in VIEW_KEYS):
        return QueryDict(view.query)
    return request.GET


def _queue_filters(request: HttpRequest) -> selectors.QueueFilters:
    get = _queue_params(request)
    stage = get.get("stage", "open")
    order = get.get("order", "newest")
    return selectors.QueueFilters(
        stage=stage if stage in {"open", "all", *Lead.Stage.values} else "open",
        owner=_owner_filter(get.get("owner", "")) if sees_all(request.user) else "",
        channel=_id_or_none(get.get("channel")),
        campaign=_id_or_none(get.get("campaign")),
        age=get.get("age", "") if get.get("age") in selectors.AGES else "",
        q=get.get("q", "").strip()[:100],
        order=order if order in selectors.ORDERS or order in selectors.SORTS else "newest",
    )


@roles.role_required(*roles.ANY_ROLE)
def queue(request: HttpRequest) -> HttpResponse:
    """A rep's own leads to work; managers, marketers and admins see everyone's."""
    filters = _queue_filters(request)
    if request.GET.get("format") == "csv":
        return queue_export(request, filters)
    paginator = Paginator(
        selectors.queue_leads(user=request.user, filters=filters), QUEUE_PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    kept = {k: v for k, v in _queue_params(request).items() if k in VIEW_KEYS and v}
    context = {
        "page": page,
        "leads": page.object_list,
        "filters": filters,
        "filtered": any(k in kept for k in ("stage", "owner", "channel", "campaign", "age", "q")),
        "query": urlencode(kept),
        "query_without_order": urlencode({k: v for k, v in kept.items() if k != "order"}),
        "stages": Lead.Stage.choices,
        "ages": [(k, v[0]) for k, v in selectors.AGES.items()],
        "orders": selectors.ORDERS,
        "channels": selectors.active_channels().order_by("display_order", "name"),
        "campaigns": selectors.active_campaigns(),
        "sees_all": sees_all(request.user),
        "can_manage": may_manage(request.user),
        "can_change": may_change(request.user),
        "sort_columns": _sort_links(filters.order, kept),
        "sorts": _sort_choices(),
        "saved_views": list(selectors.saved_views_for(request.user)),
        "current_view": saved_view_of(request),
        "view_query": view_query(urlencode(kept)),
        "bulk_stages": [(v, label) for v, label in Lead.Stage.choices if v != "disqualified"],
    }
    if context["sees_all"]:
        context["owners"] = list(selectors.assignable_owners())
    return render(request, "crm/queue.html", context)


def _sort_links(order: str, kept: dict[str, str]) -> dict[str, dict[str, str]]:
    """Per sortable column: the link that sorts by it (the second click reverses) and the
    current direction ("asc", "desc" or "")."""
    others = {k: v for k, v in kept.items() if k != "order"}
    links = {}
    for column in selectors.COLUMN_SORTS:
        direction = "asc" if order == column else "desc" if order == f"-{column}" else ""
        target = f"-{column}" if direction == "asc" else column
        links[column] = {"url": "?" + urlencode({**others, "order": target}), "dir": direction}
    return links


def _sort_choices() -> list[tuple[str, str]]:
    labels = {
        "name": _("Name"),
        "company": _("Company"),
        "stage": _("Stage"),
        "owner": _("Owner"),
        "captured": _("Captured"),
        "contact": _("Last contact"),
        "score": _("Score"),
    }
    choices = [(k, _(v)) for k, v in selectors.ORDERS.items()]
    for column, label in labels.items():
        choices += [(column, f"{label} ↑"), (f"-{column}", f"{label} ↓")]
    return choices


@require_POST
@roles.role_required(*MANAGE)
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Give the leads ticked in the queue to one owner."""
    form = BulkAssignForm(request.POST, user=request.user)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("crm:queue")
    if form.is_valid():
        owner = form.cleaned_data["owner"]
        try:
            changed = services.lead_bulk_assign(
                leads=form.cleaned_data["leads"], owner=owner, by=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            who = (owner.get_full_name() or owner.username) if owner else _("nobody")
            messages.success(
                request,
                ngettext(
                    "%(n)d lead assigned to %(who)s.", "%(n)d leads assigned to %(who)s.", changed
                )
                % {"n": changed, "who": who},
            )
    else:
        errors = [e for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, " ".join(errors))
    return redirect(target)


# --- The lead page -------------------------------------------------------------------------


def _quality_reason_groups() -> list[tuple[str, list[QualityReason]]]:
    reasons = list(selectors.quality_reasons())
    groups = []
    for key, label in (("good", "Good fit"), ("poor", "Poor fit"), ("any", "Either")):
        items = [r for r in reasons if r.applies_to == key]
        if items:
            groups.append((label, items))
    return groups


def render_lead(
    request: HttpRequest, lead_id: int, *, status: int = 200, **forms: Form
) -> HttpResponse:
    """The lead page (with the forms given, e.g. one with errors)."""
    return _render_lead(request, lead_id, status=status, **forms)


def _render_lead(
    request: HttpRequest, lead_id: int, *, status: int = 200, **forms: Form
) -> HttpResponse:
    page = selectors.lead_page(user=request.user, lead_id=lead_id)
    if page is None:
        raise Http404("No such lead.")
    user = request.user
    context: dict[str, Any] = {
        "p": page,
        "lead": page.lead,
        "can_change": may_change(user),
        "can_manage": may_manage(user),
        "activity_form": forms.get("activity_form") or ActivityForm(),
        "stage_form": forms.get("stage_form") or StageForm(initial={"stage": page.lead.stage}),
        "feedback_form": forms.get("feedback_form") or FeedbackForm(),
        "deal_form": forms.get("deal_form")
        or DealForm(initial={"name": page.lead.company or page.lead.display_name}),
        "close_form": forms.get("close_form"),
        "assign_form": forms.get("assign_form"),
        "kinds": Activity.Kind.choices,
        "outcome_groups": [
            (kind, [(o, Activity.Outcome(o).label) for o in outcomes])
            for kind, outcomes in OUTCOMES_BY_KIND.items()
        ],
        "touch_kinds": list(TOUCH_KINDS),
        "stages": Lead.Stage.choices,
        "disqualify_reasons": list(selectors.disqualify_reasons()),
        "open_stages": list(selectors.open_pipeline_stages()),
        "quality_reason_groups": _quality_reason_groups(),
        "ratings": LeadFeedback.Rating.choices,
        "heard_about_form": forms.get("heard_about_form"),
        "heard_about_options": form_options(page.lead.form),
        "heard_about_label": answer_label(page.lead.form, page.lead.heard_about),
    }
    if context["can_change"]:
        context["channels"] = list(selectors.active_channels())
        context["campaigns"] = list(selectors.active_campaigns())
    if context["can_manage"]:
        context["owners"] = list(selectors.assignable_owners())
    context.update(task_context(request, page.lead, forms.get("task_form")))  # type: ignore[arg-type]
    context["timeline"] = selectors.lead_timeline(history=page.history, tasks=context["tasks"])
    context.update(buying_group_context(request, page.lead, page.deals))
    return render(request, "crm/lead_detail.html", context, status=status)


@roles.role_required(*roles.ANY_ROLE)
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One lead: contact data, journey, activities, deals, rating, history, quick actions."""
    return _render_lead(request, pk)


def _visible_lead(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(selectors.leads_visible_to(request.user), pk=pk)


def _submit(
    request: HttpRequest,
    *,
    lead_id: int,
    form: Form,
    form_name: str,
    call: Callable[[dict[str, Any]], str],
    anchor: str,
    then: Callable[[], str] | None = None,
) -> HttpResponse:
    """Validate the form, run the service; success redirects back, errors re-render (400)."""
    if form.is_valid():
        try:
            message = call(form.cleaned_data)
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                form.add_error(None, exc.messages)
        else:
            messages.success(request, message)
            # `then` may send the user elsewhere on the page (query and anchor) after success.
            suffix = (then() if then is not None else "") or f"#{anchor}"
            return redirect(reverse("crm:lead", args=[lead_id]) + suffix)
    messages.error(request, _("Not saved: see the form below."))
    return _render_lead(request, lead_id, status=400, **{form_name: form})


@require_POST
@roles.role_required(*CHANGE)
def lead_log_activity(request: HttpRequest, pk: int) -> HttpResponse:
    """Log an activity on the lead; the outcome button pressed is the outcome."""
    lead = _visible_lead(request, pk)
    logged: dict[str, str] = {}

    def call(data: dict[str, Any]) -> str:
        logged["follow_up"] = data["outcome"]
        if data["outcome"] == Activity.Outcome.MEETING_BOOKED and data.get("meeting_at"):
            logged["at"] = timezone.localtime(data["meeting_at"]).strftime("%Y-%m-%dT%H:%M")
        activity = services.activity_log(
            lead=lead,
            kind=data["kind"],
            by=request.user,
            outcome=data["outcome"],
            occurred_at=data["occurred_at"],
            duration=data["duration"],
            notes=data["notes"],
            channel=data["channel"] if data["kind"] in TOUCH_KINDS else None,
            campaign=data["campaign"] if data["kind"] in TOUCH_KINDS else None,
        )
        if activity.outcome:
            return _("%(kind)s logged: %(outcome)s.") % {
                "kind": activity.get_kind_display(),
                "outcome": activity.get_outcome_display(),
            }
        return _("%(kind)s logged.") % {"kind": activity.get_kind_display()}

    return _submit(
        request,
        lead_id=lead.pk,
        form=ActivityForm(request.POST),
        form_name="activity_form",
        call=call,
        anchor="activities",
        # "Call back later", "Meeting booked": the lead page proposes the follow-up, prefilled
        # (a booked meeting's follow-up at the meeting's time, when it was given).
        then=lambda: (
            "?" + urlencode(logged) + "#follow-ups" if logged.get("follow_up") in PROPOSALS else ""
        ),
    )


@require_POST
@roles.role_required(*CHANGE)
def lead_create_task(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a follow-up to the lead; errors re-render the page (400)."""
    lead = _visible_lead(request, pk)

    def call(data: dict[str, Any]) -> str:
        task = services.task_create(
            lead=lead,
            title=data["title"],
            kind=data["kind"],
            due_at=data["due_at"],
            assignee=data["assignee"] if may_manage(request.user) else None,
            by=request.user,
        )
        return _("Follow-up “%(title)s” added.") % {"title": task.title}

    return _submit(
        request,
        lead_id=lead.pk,
        form=TaskForm(request.POST),
        form_name="task_form",
        call=call,
        anchor="follow-ups",
    )


@require_POST
@roles.role_required(*CHANGE)
def lead_change_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the lead to another lifecycle stage."""
    lead = _visible_lead(request, pk)

    def call(data: dict[str, Any]) -> str:
        services.lead_change_stage(
            lead=lead, stage=data["stage"], by=request.user, reason=data["reason"]
        )
        return _("Stage: %(stage)s.") % {"stage": Lead.Stage(data["stage"]).label}

    return _submit(
        request,
        lead_id=lead.pk,
        form=StageForm(request.POST),
        form_name="stage_form",
        call=call,
        anchor="history",
    )


@require_POST
@roles.role_required(*MANAGE)
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the lead to another owner (managers and admins)."""
    lead = _visible_lead(request, pk)

    def call(data: dict[str, Any]) -> str:
        owner = data["owner"]
        services.lead_assign(lead=lead, owner=owner, by=request.user)
        who = (owner.get_full_name() or owner.username) if owner else _("nobody")
        return _("Assigned to %(who)s.") % {"who": who}

    return _submit(
        request,
        lead_id=lead.pk,
        form=AssignForm(request.POST),
        form_name="assign_form",
        call=call,
        anchor="history",
    )


@require_POST
@roles.role_required(*CHANGE)
def lead_rate(request: HttpRequest, pk: int) -> HttpResponse:
    """Rate the lead's fit for marketing's lead-quality report."""
    lead = _visible_lead(request, pk)

    def call(data: dict[str, Any]) -> str:
        feedback = services.feedback_rate(
            lead=lead,
            rating=data["rating"],
            by=request.user,
            reason=data["reason"],
            note=data["note"],
        )
        return _("Rated %(rating)s.") % {"rating": feedback.get_rating_display().lower()}

    return _submit(
        request,
        lead_id=lead.pk,
        form=FeedbackForm(request.POST),
        form_name="feedback_form",
        call=call,
        anchor="quality",
    )


@require_POST
@roles.role_required(*CHANGE)
def lead_heard_about(request: HttpRequest, pk: int) -> HttpResponse:
    """Record how the lead heard of us, as sales learned it; no capture post changes it after."""
    lead = _visible_lead(request, pk)

    def call(data: dict[str, Any]) -> str:
        lead_services.lead_heard_about_set(
            lead=lead, heard_about=data["heard_about"], other=data["heard_about_other"]
        )
        return _("Saved how they heard of us.")

    return _submit(
        request,
        lead_id=lead.pk,
        form=HeardAboutForm(request.POST),
        form_name="heard_about_form",
        call=call,
        anchor="heard-about",
    )


@require_POST
@roles.role_required(*CHANGE)
def lead_create_deal(request: HttpRequest, pk: int) -> HttpResponse:
    """Open a deal on the lead; the lead becomes an opportunity."""
    lead = _visible_lead(request, pk)

    def call(data: dict[str, Any]) -> str:
        deal = services.deal_create(
            lead=lead,
            name=data["name"],
            by=request.user,
            amount=data["amount"],
            expected_close_date=data["expected_close_date"],
        )
        return _("Deal “%(name)s” created.") % {"name": deal.name}

    return _submit(
        request,
        lead_id=lead.pk,
        form=DealForm(request.POST),
        form_name="deal_form",
        call=call,
        anchor="deals",
    )


def _visible_deal(request: HttpRequest, pk: int) -> Any:
    return get_object_or_404(
        selectors.deals_visible_to(request.user).select_related("lead", "stage"), pk=pk
    )


@require_POST
@roles.role_required(*CHANGE)
def deal_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a deal won or lost."""
    deal = _visible_deal(request, pk)

    def call(data: dict[str, Any]) -> str:
        won = data["outcome"] == "won"
        services.deal_close(deal=deal, won=won, by=request.user, reason=data["reason"])
        if won:
            return _("Deal “%(name)s” marked won.") % {"name": deal.name}
        return _("Deal “%(name)s” marked lost.") % {"name": deal.name}

    return _submit(
        request,
        lead_id=deal.lead_id,
        form=DealCloseForm(request.POST),
        form_name="close_form",
        call=call,
        anchor="deals",
    )


@require_POST
@roles.role_required(*CHANGE)
def deal_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move an open deal to another pipeline stage."""
    deal = _visible_deal(request, pk)

    def call(data: dict[str, Any]) -> str:
        services.deal_move_stage(deal=deal, stage=data["stage"], by=request.user)
        return _("Deal “%(name)s” moved to %(stage)s.") % {
            "name": deal.name,
            "stage": data["stage"].name,
        }

    return _submit(
        request,
        lead_id=deal.lead_id,
        form=DealStageForm(request.POST),
        form_name="close_form",
        call=call,
        anchor="deals",
    )


@require_POST
@roles.role_required(*CHANGE)
def deal_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """Reopen a won or lost deal."""
    deal = _visible_deal(request, pk)

    def call(data: dict[str, Any]) -> str:
        services.deal_reopen(deal=deal, by=request.user)
        return _("Deal “%(name)s” reopened.") % {"name": deal.name}

    return _submit(
        request,
        lead_id=deal.lead_id,
        form=Form(request.POST),
        form_name="close_form",
        call=call,
        anchor="deals",
    )
