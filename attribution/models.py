"""Attribution runs, their partitions, credited results and the per-deal credit ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from clm.models import FixedDefinition


class AttributionRun(FixedDefinition, models.Model):
    """One attribution of revenue to touchpoints: its definition never changes once made.

    The work is split by lead-id range into partitions (RunPartition). Results are stored per
    partition and each lead's credits too (LeadCredit): when a deal of one lead changes, only
    that lead's credits are recomputed, with the run's stored Markov and Shapley effects, and
    the difference is added to its partition's results and to the summary.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    class Scope(models.TextChoices):
        CONTACT = "contact", _("Contacts")
        ACCOUNT = "account", _("Accounts")

    class People(models.TextChoices):
        BUYING_GROUP = "buying_group", _("The deal's buying group")
        ACCOUNT = "account", _("Everyone in the deal's account")

    model_names = models.JSONField(help_text="Model names, e.g. ['linear', 'markov'].")
    params = models.JSONField(default=dict, blank=True)
    lookback_days = models.PositiveIntegerField(default=90)
    data_cutoff = models.DateTimeField(help_text="Conversions after this are not included.")
    rules_version = models.CharField(max_length=200, blank=True)
    # Contact scope credits each deal over its lead's touches; account scope over the merged
    # touches of the people who buy (`account_people`: the deal's buying group, or everyone
    # in its account). Lead-created milestones stay per contact in both.
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.CONTACT)
    account_people = models.CharField(
        max_length=12, choices=People.choices, default=People.BUYING_GROUP,
        help_text="Account scope: whose touches count for a deal.",
    )  # fmt: skip
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    effects = models.JSONField(
        default=dict, blank=True, help_text="Global Markov/Shapley effects per milestone."
    )
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Set when stored touchpoints were reclassified (or a reclassification undone) after the
    # run was made: its credits follow the channels the touches had before.
    older_rules_job = models.ForeignKey(
        "campaigns.ReclassifyJob", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", help_text="The reclassification that made this run's channels old.",
    )  # fmt: skip

    DEFINITION = (
        "model_names", "params", "lookback_days", "data_cutoff", "rules_version", "scope",
        "account_people",
    )  # fmt: skip

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "-finished_at"])]

    def __str__(self) -> str:
        return f"Run #{self.pk} ({self.status})"

    @property
    def is_account_scope(self) -> bool:
        return self.scope == self.Scope.ACCOUNT

    @property
    def based_on_older_rules(self) -> bool:
        return self.older_rules_job_id is not None


class RunPartition(models.Model):
    """A lead-id range [lead_id_from, lead_id_to) of a run; the unit of work and of refresh."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        COUNTED = "counted", _("Counted")
        DONE = "done", _("Done")

    run = models.ForeignKey(AttributionRun, on_delete=models.CASCADE, related_name="partitions")
    index = models.PositiveIntegerField()
    lead_id_from = models.BigIntegerField()
    lead_id_to = models.BigIntegerField(null=True, blank=True, help_text="None: open-ended.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    counts = models.JSONField(
        default=dict, blank=True, help_text="Additive Markov and Shapley counts per milestone."
    )
    touches = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # Set when the partition's per-lead credits (LeadCredit) are stored: a refresh of one of
    # its leads then reads and writes that lead's rows only.
    lead_credits = models.BooleanField(default=False)
    seconds = models.FloatField(default=0)
    timings = models.JSONField(
        default=dict, blank=True, help_text="Seconds per step (read, journeys, each model, write)."
    )
    # A full run's task stores here its partitions' results summed per summary key (on the
    # first partition of its batch); the run's finish adds them up into the summary instead of
    # reading the results back, then clears them.
    # A database default too, so code from before the field (a rolling deploy) still inserts.
    summary = models.JSONField(
        default=dict, db_default={}, blank=True,
        help_text="The batch's summary rows until the run finishes.",
    )  # fmt: skip

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="partition_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.index} [{self.lead_id_from}, {self.lead_id_to})"


class Milestone(models.TextChoices):
    LEAD = "lead", "Lead created"
    OPPORTUNITY = "opportunity", "Opportunity created"
    DEAL = "deal", "Deal won"


# References of the derived tables a full run writes by COPY (results, summary, ledger): no
# index and no foreign-key constraint in the database, each of which costs per row written
# (the deferred checks alone took longer than the COPY). Django's on_delete still cascades,
# sets NULL and protects; deleting a channel or campaign scans them (rare). A row can only
# point at nothing if its referent is deleted while a run writes: readers join or map ids.
UNCHECKED: dict[str, bool] = {"db_index": False, "db_constraint": False}


class CreditedOutcome(models.Model):
    """Credited conversions and value of one model x milestone x channel x campaign x day."""

    model = models.CharField(max_length=20)
    milestone = models.CharField(max_length=12, choices=Milestone.choices)
    channel = models.ForeignKey("campaigns.Channel", on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    day = models.DateField()
    conversions = models.FloatField(help_text="Credited conversions (fractions of one).")
    value_cents = models.BigIntegerField(help_text="Credited revenue or pipeline, in cents.")

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.model} {self.milestone} {self.day}"


class AttributionResult(CreditedOutcome):
    """Credited conversions and value per run x partition x model x milestone x channel x
    campaign x conversion day. Partitions are summed when read; a lead's refresh appends the
    difference it made to its partition, so a key of a partition may have several rows.

    Read and replaced by partition only (a refresh's summary difference), so the partition is
    its one index; a full run writes about a million of these, and every further index or
    foreign-key check is paid per row. References are unchecked by the database (see
    UNCHECKED): Django still applies each on_delete.
    """

    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.PROTECT, related_name="+", **UNCHECKED
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", **UNCHECKED,
    )  # fmt: skip
    run = models.ForeignKey(
        AttributionRun, on_delete=models.CASCADE, related_name="results", **UNCHECKED
    )
    partition = models.ForeignKey(
        RunPartition, on_delete=models.CASCADE, related_name="results", db_constraint=False
    )


class AttributionSummary(CreditedOutcome):
    """The run's results summed over its partitions: what dashboards and reports read.

    Written in one statement when the run finishes. An incremental refresh of a lead (or of
    a partition) appends the difference it made (new rows minus old, per day and per month)
    rather than rewriting the summary, so refreshes stay quick and never race on a row;
    readers always SUM, so a key may have several rows. The next full run writes a fresh
    summary.
    """

    # No index of its own: the indexes below start with the run. A lone run index misleads
    # the planner (rows of a run lie together, so scanning them all looks cheap).
    run = models.ForeignKey(
        AttributionRun, on_delete=models.CASCADE, related_name="summary", **UNCHECKED
    )
    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.PROTECT, related_name="+", **UNCHECKED
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", **UNCHECKED,
    )  # fmt: skip
    # Month rows (day = the 1st) sum that month's day rows, written and refreshed with them:
    # a year's figures read a dozen of them plus the days of the partial months at its edges
    # (clm.filters.days_and_months). Readers of plain day ranges filter monthly=False.
    # A database default too: the run's day rows are written with INSERT ... SELECT and COPY.
    monthly = models.BooleanField(default=False, db_default=False)

    class Meta:
        verbose_name_plural = "attribution summaries"
        indexes = [
            models.Index(fields=["run", "model", "milestone", "day"]),
            models.Index(fields=["run", "monthly", "milestone", "day"]),
        ]


class LeadCredit(models.Model):
    """One lead's credited conversions and value per conversion x model x channel x campaign,
    at the opportunity and deal milestones: what its deals add to its partition's results
    (the lead-created milestone has a LeadMark instead).

    Written with the results by every full run (and a partition's recompute); an incremental
    refresh of one lead compares the lead's new credits with these, appends the difference to
    the results and summary, and replaces only this lead's rows, so it reads and writes one
    lead's rows instead of its partition's. Not indexed by partition: a partition's rows are
    its lead-id range.
    """

    # One index for all: (run, lead). A partition's rows are a range of it.
    run = models.ForeignKey(
        AttributionRun, on_delete=models.CASCADE, related_name="lead_credits", **UNCHECKED
    )
    lead_id = models.BigIntegerField(help_text="The converting lead (a deal's lead).")
    # The lead itself at the lead milestone, the deal at the opportunity and deal milestones.
    conversion_id = models.BigIntegerField()
    model = models.CharField(max_length=20)
    milestone = models.CharField(max_length=12, choices=Milestone.choices)
    # References unindexed and unchecked by the database, as the results' (UNCHECKED): written
    # by COPY with them; a deleted campaign's rows are set to NULL by Django (a scan, as rare
    # as deleting a campaign).
    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.PROTECT, related_name="+", **UNCHECKED
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", **UNCHECKED,
    )  # fmt: skip
    day = models.DateField()
    conversions = models.FloatField()
    value_cents = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["run", "lead_id"])]

    def __str__(self) -> str:
        return f"lead {self.lead_id} {self.model} {self.milestone} {self.day}"


class LeadMark(models.Model):
    """A fingerprint of what one lead's lead-created credit depends on (its creation time and
    its own touches up to it: ids, times, channels, campaigns, which one created it), written
    by every full run instead of that milestone's per-lead credits (three quarters of them).

    A deal change leaves it alone; a refresh that finds it unchanged leaves the lead-created
    credits as they are, and one that finds it changed (a backdated or reclassified touch, a
    lead created since) recomputes the lead's partition instead.
    """

    run = models.ForeignKey(
        AttributionRun, on_delete=models.CASCADE, related_name="lead_marks", **UNCHECKED
    )
    lead_id = models.BigIntegerField()
    mark = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["run", "lead_id"])]

    def __str__(self) -> str:
        return f"lead {self.lead_id} {self.mark}"


class CreditLedger(models.Model):
    """Which touchpoint of a won deal got what share of its revenue, under which model."""

    # No index of its own: the indexes below start with the run (see AttributionSummary).
    run = models.ForeignKey(
        AttributionRun, on_delete=models.CASCADE, related_name="ledger", **UNCHECKED
    )
    # Indexed: a partition's rows are replaced by a refresh or a redelivered task.
    partition = models.ForeignKey(
        RunPartition, on_delete=models.CASCADE, related_name="ledger", db_constraint=False
    )
    model = models.CharField(max_length=20)
    # Indexed: a deleted deal's rows go with it (the run-model-deal index serves the readers).
    deal = models.ForeignKey(
        "crm.Deal", on_delete=models.CASCADE, related_name="credits", db_constraint=False
    )
    # The deal's lead (its primary contact), whose partition holds the row, in both scopes.
    lead_id = models.BigIntegerField()
    # The person whose touch it is: the deal's lead in contact scope, any of the buying people
    # in account scope; None for the synthetic "no touch" row.
    touch_lead_id = models.BigIntegerField(null=True, blank=True)
    # Indexed: erasing a person sets their touches' references to NULL.
    touchpoint = models.ForeignKey(
        "leads.Touchpoint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        db_constraint=False,
    )  # fmt: skip
    channel = models.ForeignKey(
        "campaigns.Channel", on_delete=models.PROTECT, related_name="+", **UNCHECKED
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", **UNCHECKED,
    )  # fmt: skip
    touch_at = models.DateTimeField()
    position = models.PositiveIntegerField(help_text="1-based place of the touch in the journey.")
    journey_length = models.PositiveIntegerField()
    share = models.FloatField()
    value_cents = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["run", "model", "deal"])]

    def __str__(self) -> str:
        return f"deal {self.deal_id} {self.model} {self.share:.3f}"


class ShareLink(models.Model):
    """A read-only, signed, expiring and revocable link to a dashboard view for outsiders."""

    class Dashboard(models.TextChoices):
        MARKETING = "marketing", "Marketing dashboard"

    dashboard = models.CharField(max_length=20, choices=Dashboard.choices, default="marketing")
    label = models.CharField(max_length=120, help_text="Who it is for, e.g. 'Board, Q3'.")
    query = models.CharField(
        max_length=500, blank=True, help_text="The filters, as in the dashboard URL after '?'."
    )
    nonce = models.CharField(max_length=32, editable=False)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label
