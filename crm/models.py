"""The CRM side of a lead: lifecycle history, activities, quality feedback and deals.

The lead's own `stage` and `owner` live on leads.Lead; only crm.services write them, and every
change is kept here as a LeadHistory row so funnel timings can be measured.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

# The reasons migration 0002 seeds, marked for the catalogue: shown in the reader's language.
# A reason an admin typed (or renamed) is shown as typed.
SEEDED_REASONS = frozenset(
    (
        gettext_noop("No budget"), gettext_noop("No need"), gettext_noop("Not the decision maker"),
        gettext_noop("Outside our market"), gettext_noop("Chose a competitor"),
        gettext_noop("Unresponsive"), gettext_noop("Spam or fake"), gettext_noop("Duplicate"),
        gettext_noop("Matches our ideal customer"), gettext_noop("Clear need and timeline"),
        gettext_noop("Budget confirmed"), gettext_noop("Wrong industry or size"),
        gettext_noop("Student or job seeker"), gettext_noop("Wrong country"),
        gettext_noop("No real need"), gettext_noop("Spam or fake details"),
        gettext_noop("Existing customer"),
    )
)  # fmt: skip


def reason_label(name: str) -> str:
    """A reason's name in the reader's language when it is one of the seeded ones."""
    return gettext(name) if name in SEEDED_REASONS else name


class DisqualifyReason(models.Model):
    """Why a lead was disqualified (no budget, spam, ...); an admin-editable list."""

    name = models.CharField(max_length=120, unique=True)
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return reason_label(self.name)


class QualityReason(models.Model):
    """Why a rep rated a lead a good or a poor fit; an admin-editable list."""

    class AppliesTo(models.TextChoices):
        GOOD = "good", _("Good fit")
        POOR = "poor", _("Poor fit")
        ANY = "any", _("Either")

    name = models.CharField(max_length=120, unique=True)
    applies_to = models.CharField(max_length=4, choices=AppliesTo.choices, default=AppliesTo.ANY)
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return reason_label(self.name)


class LeadHistory(models.Model):
    """One change of a lead's stage or owner: who, when, from what to what."""

    class Field(models.TextChoices):
        STAGE = "stage", "Stage"
        OWNER = "owner", "Owner"

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="history")
    field = models.CharField(max_length=5, choices=Field.choices)
    # A stage value, or an owner's user id ("" for none).
    old = models.CharField(max_length=32, blank=True)
    new = models.CharField(max_length=32, blank=True)
    disqualify_reason = models.ForeignKey(
        DisqualifyReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty when the system made the change (e.g. assignment on capture).",
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "lead history"
        indexes = [
            models.Index(fields=["lead", "at"]),
            models.Index(fields=["field", "new", "at"]),
            models.Index(fields=["field", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.field}: {self.old or '-'} -> {self.new or '-'}"


class Activity(models.Model):
    """Something sales did with a lead: a call, an email, a meeting, a note, an event."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        NOTE = "note", _("Note")
        EVENT = "event", _("Event")
        INBOUND_CALL = "inbound_call", _("Inbound call")

    class Outcome(models.TextChoices):
        CONNECTED = "connected", _("Connected")
        NO_ANSWER = "no_answer", _("No answer")
        LEFT_VOICEMAIL = "left_voicemail", _("Left voicemail")
        MEETING_BOOKED = "meeting_booked", _("Meeting booked")
        CALL_BACK = "call_back", _("Call back later")
        NOT_INTERESTED = "not_interested", _("Not interested")
        WRONG_NUMBER = "wrong_number", _("Wrong number")
        SENT = "sent", _("Sent")
        REPLIED = "replied", _("Replied")
        BOUNCED = "bounced", _("Bounced")
        HELD = "held", _("Held")
        NO_SHOW = "no_show", _("No-show")

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    occurred_at = models.DateTimeField()
    duration = models.DurationField(null=True, blank=True)
    notes = models.TextField(blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="crm_activities",
    )
    # Events and inbound calls that brought the lead in count in attribution via a touchpoint.
    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    touchpoint = models.OneToOneField(
        "leads.Touchpoint",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="crm_activity",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["lead", "-occurred_at"]),
            # The daily rollups recount a day's activities and stage changes by time.
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class LeadFeedback(models.Model):
    """A rep's verdict on a lead's fit; the newest is current, older ones are kept."""

    class Rating(models.TextChoices):
        GOOD = "good", _("Good fit")
        POOR = "poor", _("Poor fit")

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="feedback")
    rating = models.CharField(max_length=4, choices=Rating.choices)
    reason = models.ForeignKey(
        QualityReason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    is_current = models.BooleanField(default=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "lead feedback"
        verbose_name_plural = "lead feedback"
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=models.Q(is_current=True),
                name="feedback_one_current_per_lead",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} ({self.lead_id})"


class PipelineStage(models.Model):
    """A stage of the deal pipeline (qualification ... won, lost); an editable list."""

    name = models.CharField(max_length=60, unique=True)
    slug = models.SlugField(max_length=60, unique=True)
    order = models.PositiveIntegerField(default=0)
    is_won = models.BooleanField(default=False)
    is_lost = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~(models.Q(is_won=True) & models.Q(is_lost=True)),
                name="pipeline_stage_not_won_and_lost",
                violation_error_message="A stage cannot be both won and lost.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class Deal(models.Model):
    """An opportunity with a lead: amount in settings.CLM_CURRENCY, stage, close date."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="deals")
    name = models.CharField(max_length=200)
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    expected_close_date = models.DateField(null=True, blank=True)
    stage = models.ForeignKey(PipelineStage, on_delete=models.PROTECT, related_name="deals")
    close_reason = models.CharField(max_length=300, blank=True, help_text="Why it was won or lost.")
    closed_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="crm_deals",
    )
    # The company buying; set from the lead's account when the deal is opened. Its buying group
    # (the people deciding) is DealContact, the lead being the primary contact.
    account = models.ForeignKey(
        "crm.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals"
    )
    opportunity_created_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "-created_at"]),
            models.Index(fields=["stage", "closed_at"]),
            # The dashboards' data version reads MAX(updated_at) on every view.
            models.Index(fields=["updated_at"], name="deal_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    """A company that buys: its people (AccountContact) and deals roll up here.

    Created and matched automatically from the leads' corporate email domains and company
    field (crm.accounts), merged and split by admins, owned by a rep; `is_target` and `tier`
    mark it for account-based marketing.
    """

    class Tier(models.TextChoices):
        TIER_1 = "1", _("Tier 1")
        TIER_2 = "2", _("Tier 2")
        TIER_3 = "3", _("Tier 3")

    name = models.CharField(max_length=200)
    # The name folded for matching the company field (crm.accounts.company_key).
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="crm_accounts",
    )
    is_target = models.BooleanField(_("target account"), default=False)
    tier = models.CharField(max_length=1, choices=Tier.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class AccountDomain(models.Model):
    """A registrable email domain of an account (acme.com); a domain belongs to one account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class AccountContact(models.Model):
    """A lead's place in an account. `matched_by` says how: a lead placed by hand (or by an
    admin's merge or split) is never moved by automatic matching again."""

    class MatchedBy(models.TextChoices):
        DOMAIN = "domain", _("Email domain")
        COMPANY = "company", _("Company name")
        MANUAL = "manual", _("By hand")

    lead = models.OneToOneField(
        "leads.Lead", on_delete=models.CASCADE, related_name="account_contact"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    matched_by = models.CharField(max_length=8, choices=MatchedBy.choices)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "lead"]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.account_id}"


class AccountUnplaced(models.Model):
    """A lead taken out of its account by hand: automatic matching leaves it outside accounts
    until sales place it in one again."""

    lead = models.OneToOneField(
        "leads.Lead", on_delete=models.CASCADE, related_name="account_unplaced"
    )
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.lead_id} outside accounts"


class FreeMailDomain(models.Model):
    """A free-mail provider: its addresses never group people. "yahoo.*" is any suffix."""

    pattern = models.CharField(max_length=253, unique=True)

    class Meta:
        ordering = ["pattern"]
        verbose_name = "free-mail domain"

    def __str__(self) -> str:
        return self.pattern


class DealContact(models.Model):
    """A person of a deal's buying group and their role; the deal's lead is the primary one."""

    class Role(models.TextChoices):
        DECISION_MAKER = "decision_maker", _("Decision maker")
        CHAMPION = "champion", _("Champion")
        INFLUENCER = "influencer", _("Influencer")
        USER = "user", _("User")
        OTHER = "other", _("Other")

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="contacts")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="deal_roles")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.OTHER)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["deal", "lead"], name="deal_contact_unique_lead"),
            models.UniqueConstraint(
                fields=["deal"], condition=models.Q(is_primary=True), name="deal_one_primary"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} ({self.role}) on {self.deal_id}"


class DailyCount(models.Model):
    """Counts per day, first-touch channel and campaign, and person, for the dashboards.

    Derived data, written only by crm.rollups: a day's rows of a kind are recomputed from the
    source rows whenever a RollupMark says that day changed. The dashboards sum a few hundred
    of these instead of counting 100,000 leads or activities. Keys per kind:

    - lead (day captured; person = owner): "" leads, "good"/"poor" current quality ratings;
    - activity (day it happened; person = who logged it): "" activities, "connected" calls;
    - deal (day closed; person = deal owner): "won"/"lost" deals, amount = their amounts;
    - stage (day of the change; person = lead owner): key = the stage entered;
    - contact (day captured; person = owner; no channel or campaign): contacted leads per
      bucket of time to first contact (crm.rollups.CONTACT_BOUNDS), for exact medians;
    - answer (day captured; person = owner): key = the lead's "How did you hear about us?"
      answer, leads that gave it;
    - answer_won (the lead's capture day; person = lead owner): key = that answer, won deals of
      those leads, amount = their amounts (the self-reported panel's first-touch matrix).
    """

    class Kind(models.TextChoices):
        LEAD = "lead", "Lead"
        ACTIVITY = "activity", "Activity"
        DEAL = "deal", "Deal"
        STAGE = "stage", "Stage change"
        CONTACT = "contact", "Time to first contact"
        ANSWER = "answer", "Self-reported answer"
        ANSWER_WON = "answer_won", "Won deals by self-reported answer"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Up to a lead's answer key (Lead.heard_about).
    key = models.CharField(max_length=40, blank=True)
    # Month rows (day = the 1st) hold the sum of that month's day rows: a year's figures read
    # twelve of them plus the days of the partial months at its edges.
    monthly = models.BooleanField(default=False)
    day = models.DateField()
    # SET_NULL like the source rows' own links, so a deleted campaign or user leaves the
    # same figures here as a recomputation would.
    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    count = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))

    class Meta:
        indexes = [models.Index(fields=["kind", "monthly", "day"])]

    def __str__(self) -> str:
        return (
            f"{self.kind}/{self.key} {self.day}{' (month)' if self.monthly else ''}: {self.count}"
        )


class RollupMark(models.Model):
    """A day whose DailyCount rows of `kind` are out of date (no day: all of them).

    Written in the same transaction as the change it marks; crm.rollups.refresh recomputes
    the marked days and deletes exactly the marks it read, so a change committed meanwhile
    keeps its mark for the next refresh.
    """

    kind = models.CharField(max_length=12, choices=DailyCount.Kind.choices)
    day = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} {self.day or 'all days'}"


class Task(models.Model):
    """A follow-up a person owes a lead: call back, send the proposal, hold the meeting.

    Due at `due_at`; done when `done_at` is set. A reminder (in the app and by email) goes to the
    assignee once the task is due; `reminder_sent_at` records it so it is sent only once.
    """

    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        OTHER = "other", _("Other")

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="crm_tasks",
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CALL)
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "done_at", "due_at"]),
            models.Index(fields=["lead", "due_at"]),
            # The reminder sweep: open tasks not yet reminded, by due time.
            models.Index(
                fields=["due_at"],
                condition=models.Q(done_at__isnull=True, reminder_sent_at__isnull=True),
                name="task_reminder_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.due_at:%Y-%m-%d %H:%M})"


class SavedView(models.Model):
    """A named set of work-queue filters: a person's own, or shared by a manager with everyone.

    Only the filters are stored (a query string of whitelisted keys); whoever opens a view sees
    the leads the filters match among the leads *they* may see.
    """

    name = models.CharField(max_length=80)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_saved_views"
    )
    shared = models.BooleanField(default=False)
    query = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="saved_view_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
