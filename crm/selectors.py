"""Every read of the CRM side. `leads_visible_to` (leads.selectors, on clm.roles' rule) is the
one place a user's scope is decided:
every page, form and API query of the CRM starts from it (or from the *_visible_to helpers
built on it), so a rep never reaches another rep's lead, activity, deal or feedback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Campaign, Channel
from clm import roles
from crm.models import (
    Activity,
    DailyCount,
    Deal,
    DisqualifyReason,
    LeadFeedback,
    LeadHistory,
    PipelineStage,
    QualityReason,
    SavedView,
    Task,
)
from crm.permissions import Viewer, may_manage, sees_all
from leads.models import Lead, Touchpoint
from leads.selectors import leads_visible_to

Stage = Lead.Stage
OPEN_STAGES = (Stage.NEW, Stage.CONTACTED, Stage.QUALIFIED, Stage.OPPORTUNITY)
AGES: dict[str, tuple[Any, timedelta | None, timedelta | None]] = {
    # key: (label, newer than, older than)
    "day": (gettext_lazy("Last 24 hours"), timedelta(days=1), None),
    "week": (gettext_lazy("Last 7 days"), timedelta(days=7), None),
    "month": (gettext_lazy("Last 30 days"), timedelta(days=30), None),
    "older": (gettext_lazy("Older than 30 days"), None, timedelta(days=30)),
}
ORDERS = {
    "newest": gettext_lazy("Newest first"),
    "untouched": gettext_lazy("Oldest untouched first"),
    "score": gettext_lazy("Best score first"),
}
# Sortable columns of the queue: `order=<column>` ascending, `order=-<column>` descending.
COLUMN_SORTS: dict[str, tuple[Any, ...]] = {
    "name": ("last_name", "first_name", "email"),
    "company": ("company",),
    "stage": ("stage",),
    "owner": ("owner__first_name", "owner__last_name", "owner__username"),
    "captured": ("created_at",),
    "contact": ("last_contacted_at",),
    "score": ("lead_score__score",),
}
SORTS = frozenset({*COLUMN_SORTS, *(f"-{c}" for c in COLUMN_SORTS)})
JOURNEY_LIMIT = 500


# --- Scope --------------------------------------------------------------------------------


def _on_visible_leads(qs: QuerySet[Any], user: Viewer) -> QuerySet[Any]:
    """Rows of `qs` (which have a `lead`) on the leads `user` may see.

    Viewers who see every lead get `qs` as it is: a `lead IN (all leads)` subquery would make
    the database visit every lead for nothing.
    """
    if getattr(user, "is_authenticated", False) and sees_all(user):
        return qs
    return qs.filter(lead__in=leads_visible_to(user))


def activities_visible_to(user: Viewer) -> QuerySet[Activity]:
    """Activities on the leads `user` may see."""
    return _on_visible_leads(Activity.objects.all(), user)


def deals_visible_to(user: Viewer) -> QuerySet[Deal]:
    """Deals on the leads `user` may see."""
    return _on_visible_leads(Deal.objects.all(), user)


def feedback_visible_to(user: Viewer) -> QuerySet[LeadFeedback]:
    """Quality ratings of the leads `user` may see."""
    return _on_visible_leads(LeadFeedback.objects.all(), user)


def history_visible_to(user: Viewer) -> QuerySet[LeadHistory]:
    """Stage and owner changes of the leads `user` may see."""
    return _on_visible_leads(LeadHistory.objects.all(), user)


# --- Lists the forms choose from ------------------------------------------------------------


def assignable_owners() -> QuerySet[Any]:
    """Active sales reps and managers: who a lead or a deal may be given to."""
    return roles.lead_owners()


def pipeline_stages() -> QuerySet[PipelineStage]:
    """The active deal stages, in pipeline order."""
    return PipelineStage.objects.filter(is_active=True).order_by("order", "id")


def open_pipeline_stages() -> QuerySet[PipelineStage]:
    """The active stages a deal is open in (neither won nor lost)."""
    return pipeline_stages().filter(is_won=False, is_lost=False)


def disqualify_reasons() -> QuerySet[DisqualifyReason]:
    """The reasons a lead may be disqualified for."""
    return DisqualifyReason.objects.filter(is_active=True)


def quality_reasons() -> QuerySet[QualityReason]:
    """The reasons a rep may give for a good or poor fit."""
    return QualityReason.objects.filter(is_active=True)


def active_channels() -> QuerySet[Channel]:
    """Active channels, the offline ones (sales call, event) first: an offline touch's choices."""
    return Channel.objects.filter(is_active=True).order_by("-is_offline", "display_order", "name")


def active_campaigns() -> QuerySet[Campaign]:
    """Campaigns an offline touch may belong to, newest first."""
    return Campaign.objects.exclude(status=Campaign.Status.DRAFT).order_by("-start_date", "name")


# --- Work queue ----------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    """What the work queue is narrowed to; empty values mean no filter."""

    stage: str = "open"
    owner: str = ""
    channel: int | None = None
    campaign: int | None = None
    age: str = ""
    q: str = ""
    order: str = "newest"


def current_rating() -> Subquery:
    """A subquery annotation: the lead's current quality rating ('good', 'poor' or None)."""
    return Subquery(
        LeadFeedback.objects.filter(lead=OuterRef("pk"), is_current=True).values("rating")[:1]
    )


def leads_filter(*, leads: QuerySet[Lead], filters: QueueFilters, user: Viewer) -> QuerySet[Lead]:
    """Narrow a lead queryset by stage, owner, first-touch channel/campaign, age and search."""
    if filters.stage == "open":
        leads = leads.filter(stage__in=OPEN_STAGES)
    elif filters.stage in Stage.values:
        leads = leads.filter(stage=filters.stage)
    if filters.owner == "none":
        leads = leads.filter(owner__isnull=True)
    elif filters.owner == "me":
        leads = leads.filter(owner=user)
    elif filters.owner.isdigit():
        leads = leads.filter(owner_id=int(filters.owner))
    if filters.channel:
        leads = leads.filter(first_channel_id=filters.channel)
    if filters.campaign:
        leads = leads.filter(first_campaign_id=filters.campaign)
    if filters.age in AGES:
        _label, newer, older = AGES[filters.age]
        now = timezone.now()
        if newer is not None:
            leads = leads.filter(created_at__gte=now - newer)
        if older is not None:
            leads = leads.filter(created_at__lt=now - older)
    return leads_search(leads=leads, q=filters.q)


def leads_search(*, leads: QuerySet[Lead], q: str) -> QuerySet[Lead]:
    """Leads whose name, email or company contain every word of `q` (case-insensitive)."""
    # PostgreSQL refuses NUL in a string literal; no stored name contains one anyway.
    for term in q.replace("\x00", " ").split()[:5]:
        leads = leads.filter(
            Q(first_name__icontains=term)
            | Q(last_name__icontains=term)
            | Q(email__icontains=term)
            | Q(company__icontains=term)
        )
    return leads


def queue_leads(*, user: Viewer, filters: QueueFilters) -> QuerySet[Lead]:
    """The work queue: visible leads, filtered, ordered, with what a row shows in one query."""
    leads = leads_filter(leads=leads_visible_to(user), filters=filters, user=user)
    leads = leads.select_related(
        "owner", "first_touch__channel", "first_touch__campaign", "lead_score"
    ).annotate(current_rating=current_rating())
    if filters.order == "score":
        # insights.LeadScore: the best leads are called first; unscored ones last, newest first.
        return leads.order_by(F("lead_score__score").desc(nulls_last=True), "-created_at", "-id")
    if filters.order == "untouched":
        # Never contacted first (oldest capture first), then the longest without contact.
        return leads.order_by(F("last_contacted_at").asc(nulls_first=True), "created_at", "id")
    if filters.order in SORTS:
        column = filters.order.lstrip("-")
        descending = filters.order.startswith("-")
        # Empty values (no score, never contacted, no owner) sort last either way.
        keys = [
            F(f).desc(nulls_last=True) if descending else F(f).asc(nulls_last=True)
            for f in COLUMN_SORTS[column]
        ]
        return leads.order_by(*keys, "-id" if descending else "id")
    return leads.order_by("-created_at", "-id")


def queue_export_rows(*, user: Viewer, filters: QueueFilters, limit: int) -> Any:
    """The queue's rows as CSV values (what the viewer may see, filtered and ordered)."""
    leads = queue_leads(user=user, filters=filters)[:limit]
    for lead in leads.iterator(chunk_size=1000):
        touch = lead.first_touch
        score = getattr(lead, "lead_score", None)
        yield [
            lead.pk,
            lead.first_name,
            lead.last_name,
            lead.email,
            lead.company,
            lead.phone,
            lead.get_stage_display(),
            (lead.owner.get_full_name() or lead.owner.username) if lead.owner else "",
            touch.channel.name if touch and touch.channel else "",
            touch.campaign.name if touch and touch.campaign else "",
            score.score if score is not None else "",
            lead.current_rating or "",
            timezone.localtime(lead.created_at).strftime("%Y-%m-%d %H:%M"),
            timezone.localtime(lead.last_contacted_at).strftime("%Y-%m-%d %H:%M")
            if lead.last_contacted_at
            else "",
        ]


def saved_views_for(user: Viewer) -> QuerySet[SavedView]:
    """The user's own views and the views shared by managers, by name."""
    if not getattr(user, "is_authenticated", False):
        return SavedView.objects.none()
    return (
        SavedView.objects.filter(Q(owner=user) | Q(shared=True))
        .select_related("owner")
        .order_by("-shared", "name", "id")
    )


# --- Tasks and follow-ups -------------------------------------------------------------------


def tasks_visible_to(user: Viewer) -> QuerySet[Task]:
    """Tasks on the leads `user` may see (a rep: their own leads')."""
    return _on_visible_leads(Task.objects.all(), user)


def due_task_count(user: Viewer, now: datetime | None = None) -> int:
    """How many of the user's open tasks are due (the reminder badge in the navigation)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return (
        tasks_visible_to(user)
        .filter(assignee=user, done_at__isnull=True, due_at__lte=now or timezone.now())
        .count()
    )


@dataclass
class MyDay:
    """A person's follow-ups: overdue, due today, upcoming, done today; a manager's team's
    overdue ones."""

    overdue: list[Task]
    today: list[Task]
    upcoming: list[Task]
    done_today: list[Task]
    team_overdue: list[Task] | None = None

    @property
    def open_count(self) -> int:
        return len(self.overdue) + len(self.today)


UPCOMING_LIMIT = 100


def my_day(*, user: Viewer, now: datetime | None = None) -> MyDay:
    """The user's open tasks split around now and the end of today (local time)."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    mine = tasks_visible_to(user).filter(assignee=user).select_related("lead")
    open_tasks = mine.filter(done_at__isnull=True).order_by("due_at", "id")
    day = MyDay(
        overdue=list(open_tasks.filter(due_at__lt=start)),
        today=list(open_tasks.filter(due_at__gte=start, due_at__lt=end)),
        upcoming=list(open_tasks.filter(due_at__gte=end)[:UPCOMING_LIMIT]),
        done_today=list(mine.filter(done_at__gte=start).order_by("-done_at", "-id")[:50]),
    )
    if getattr(user, "is_authenticated", False) and may_manage(user):
        day.team_overdue = list(
            tasks_visible_to(user)
            .filter(done_at__isnull=True, due_at__lt=now)
            .exclude(assignee=user)
            .select_related("lead", "assignee")
            .order_by("assignee__username", "due_at", "id")[:200]
        )
    return day


def lead_tasks(*, user: Viewer, lead: Lead) -> list[Task]:
    """A visible lead's follow-ups: open ones by due time, then done ones, newest first."""
    tasks = list(tasks_visible_to(user).filter(lead=lead).select_related("assignee", "created_by"))
    return sorted(
        tasks,
        key=lambda t: (
            t.done_at is not None,
            -(t.done_at.timestamp()) if t.done_at else t.due_at.timestamp(),
        ),
    )


# --- Lead page -----------------------------------------------------------------------------


@dataclass
class HistoryStep:
    """One line of a lead's history, ready to show."""

    entry: LeadHistory
    label: str
    old_label: str
    new_label: str
    after: timedelta | None = None

    @property
    def at(self) -> datetime:
        return self.entry.at


@dataclass
class TaskStep:
    """A follow-up added to a lead, or done, as a line of the lead's history."""

    task: Task
    done: bool
    at: datetime


def lead_timeline(*, history: list[HistoryStep], tasks: list[Task]) -> list[HistoryStep | TaskStep]:
    """A lead's history with its follow-ups (when each was added and done), oldest first."""
    steps: list[HistoryStep | TaskStep] = list(history)
    for task in tasks:
        steps.append(TaskStep(task=task, done=False, at=task.created_at))
        if task.done_at is not None:
            steps.append(TaskStep(task=task, done=True, at=task.done_at))
    return sorted(steps, key=lambda step: step.at)


@dataclass
class LeadPage:
    """Everything the lead page shows, each part read in one query."""

    lead: Lead
    touchpoints: list[Touchpoint]
    journey_truncated: bool
    activities: list[Activity]
    deals: list[Deal]
    feedback: list[LeadFeedback]
    history: list[HistoryStep] = field(default_factory=list)

    @property
    def current_feedback(self) -> LeadFeedback | None:
        return next((f for f in self.feedback if f.is_current), None)

    @property
    def stage_steps(self) -> list[HistoryStep]:
        return [s for s in self.history if s.entry.field == LeadHistory.Field.STAGE]

    @property
    def open_deal_total(self) -> Any:
        return sum((d.amount for d in self.deals if d.closed_at is None), start=0)

    @property
    def won_total(self) -> Any:
        return sum((d.amount for d in self.deals if d.stage.is_won), start=0)


def _user_label(user: Any) -> str:
    return (user.get_full_name() or user.username) if user is not None else _("System")


def _history_steps(lead: Lead) -> list[HistoryStep]:
    entries = list(
        LeadHistory.objects.filter(lead=lead)
        .select_related("by", "disqualify_reason")
        .order_by("at", "id")
    )
    owner_ids = {
        int(v)
        for e in entries
        if e.field == LeadHistory.Field.OWNER
        for v in (e.old, e.new)
        if v.isdigit()
    }
    owners = get_user_model().objects.in_bulk(owner_ids) if owner_ids else {}
    stage_labels = dict(Stage.choices)
    steps: list[HistoryStep] = []
    previous_stage_at: datetime = lead.created_at
    for e in entries:
        if e.field == LeadHistory.Field.STAGE:
            step = HistoryStep(
                entry=e,
                label=_("Stage"),
                old_label=stage_labels.get(e.old, e.old or "—"),
                new_label=stage_labels.get(e.new, e.new),
                after=e.at - previous_stage_at,
            )
            previous_stage_at = e.at
        else:
            old = owners.get(int(e.old)) if e.old else None
            new = owners.get(int(e.new)) if e.new else None
            step = HistoryStep(
                entry=e,
                label=_("Owner"),
                old_label=_user_label(old) if e.old else _("Unassigned"),
                new_label=_user_label(new) if e.new else _("Unassigned"),
            )
        steps.append(step)
    return steps


def _label_logged_touches(touches: list[Touchpoint], activities: list[Activity]) -> None:
    """A touch logged by sales (event, inbound call) is titled in the reader's language from
    its activity's kind and campaign, not from the text stored when it was logged."""
    logged = {a.touchpoint_id: a for a in activities if a.touchpoint_id}
    for touch in touches:
        activity = logged.get(touch.pk)
        if activity is None:
            touch.label = touch.title
        elif touch.campaign is not None:
            touch.label = f"{activity.get_kind_display()}: {touch.campaign.name}"
        else:
            touch.label = str(activity.get_kind_display())


def lead_page(*, user: Viewer, lead_id: int) -> LeadPage | None:
    """A visible lead with its journey, activities, deals, ratings and history; else None."""
    lead = (
        leads_visible_to(user)
        .select_related(
            "owner", "form", "first_touch__channel", "first_touch__campaign", "lead_score"
        )
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        return None
    touches = list(
        Touchpoint.objects.filter(lead=lead)
        .select_related("channel", "campaign")
        .order_by("occurred_at", "id")[: JOURNEY_LIMIT + 1]
    )
    activities = list(
        Activity.objects.filter(lead=lead).select_related("by", "channel", "campaign")
    )
    _label_logged_touches(touches, activities)
    return LeadPage(
        lead=lead,
        touchpoints=touches[:JOURNEY_LIMIT],
        journey_truncated=len(touches) > JOURNEY_LIMIT,
        activities=activities,
        deals=list(Deal.objects.filter(lead=lead).select_related("stage", "owner")),
        feedback=list(LeadFeedback.objects.filter(lead=lead).select_related("reason", "by")),
        history=_history_steps(lead),
    )


# --- Quality feedback for marketing ----------------------------------------------------------


def _quality_rows(user: Viewer, key: str, name: str, f: Any = None) -> list[dict[str, Any]]:
    """Leads and current ratings per value of the lead field `key` (its label from `name`):
    of every lead, or of the leads captured in the period of dashboard filters `f` (narrowed
    to their first-touch channel and campaign).

    Read from the daily lead rollup (crm.rollups): a few rows per day instead of every lead.
    """
    from crm import rollups

    cells = (
        rollups.counts(DailyCount.Kind.LEAD, user=user, f=f)
        .values("key", group_id=F(f"{key}_id"), label=F(f"{key}__{name}"))
        .annotate(n=Sum("count"))
        .order_by()
    )
    rows: dict[Any, dict[str, Any]] = {}
    for cell in cells:
        row = rows.setdefault(
            cell["group_id"],
            {f"{key}_id": cell["group_id"], key: cell["label"], "leads": 0, "good": 0, "poor": 0},
        )
        row["leads" if cell["key"] == "" else cell["key"]] += cell["n"] or 0
    result = sorted(rows.values(), key=lambda r: -r["leads"])
    for row in result:
        rated = row["good"] + row["poor"]
        row["rated"] = rated
        row["good_share"] = round(row["good"] / rated, 4) if rated else None
    return result


def lead_quality_by_channel(*, user: Viewer, f: Any = None) -> list[dict[str, Any]]:
    """Per first-touch channel: leads, rated, good, poor and good share (good / rated); all
    leads, or those captured in the period of dashboard filters `f`."""
    return _quality_rows(user, "channel", "name", f)


def lead_quality_by_campaign(*, user: Viewer, f: Any = None) -> list[dict[str, Any]]:
    """Per first-touch campaign: leads, rated, good, poor and good share (good / rated); all
    leads, or those captured in the period of dashboard filters `f`; each row's channel as
    "parent"."""
    rows = _quality_rows(user, "campaign", "name", f)
    parents = dict(
        Campaign.objects.filter(
            pk__in=[r["campaign_id"] for r in rows if r["campaign_id"]]
        ).values_list("pk", "channel__name")
    )
    for row in rows:
        row["parent"] = parents.get(row["campaign_id"]) or ""
    return rows
