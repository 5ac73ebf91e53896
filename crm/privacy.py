"""crm's share of a person's rights (leads.privacy, leads.erasure): its rows in their data
export, and its texts cleared when they are erased (clm.events PersonExporting, PersonErasing).

Erasure keeps what the CRM counts: activities' kinds and times, feedback ratings, deals'
amounts, stages and dates, and the deals' accounts and buying-group roles (the anonymised lead
stays in them, so an account's deals and their credit do not change). The person is detached
from their account (AccountContact deleted); the account itself stays (one they were alone in
loses the name and domains that came from them). What goes: notes, deal
names and close reasons, and follow-ups (their titles are free text about the person: "call
Ada about her mortgage").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet

from clm import events
from clm.events import PersonErasing, PersonExporting
from crm.models import (
    Account,
    AccountContact,
    Activity,
    Deal,
    DealContact,
    LeadFeedback,
    LeadHistory,
    Task,
)

# crm erases first: its notes and deal names are values of the person that the texts of the
# apps after it (webhook errors, alerts, outbox messages) lose too.
ERASURE_ORDER = 10


def _rows(queryset: QuerySet, *fields: str) -> list[dict]:
    return list(queryset.values(*fields))


def person_erase_crm(event: PersonErasing) -> None:
    """The person's activity notes, feedback notes, follow-ups, deal names and close reasons go."""
    person, counts = event.person, event.counts
    of_leads = Q(lead_id__in=person.lead_ids)
    person.add(*Activity.objects.filter(of_leads).values_list("notes", flat=True))
    person.add(*LeadFeedback.objects.filter(of_leads).values_list("note", flat=True))
    person.add(*Task.objects.filter(of_leads).values_list("title", flat=True))
    deals = list(Deal.objects.filter(of_leads).order_by("pk"))
    for deal in deals:
        person.add(deal.name, deal.close_reason)
    person.rows[Deal] = [deal.pk for deal in deals]
    person.rows[Activity] = list(Activity.objects.filter(of_leads).values_list("pk", flat=True))
    person.rows[LeadFeedback] = list(
        LeadFeedback.objects.filter(of_leads).values_list("pk", flat=True)
    )
    person.ids["deal_id"] = [deal.pk for deal in deals]
    counts["activities"] = Activity.objects.filter(of_leads).update(notes="")
    counts["feedback"] = LeadFeedback.objects.filter(of_leads).update(note="")
    counts["tasks"] = Task.objects.filter(of_leads).delete()[0]
    counts["account_contacts"] = _detach_from_accounts(person, event.at)
    for deal in deals:
        deal.name, deal.close_reason, deal.updated_at = f"Deal {deal.pk}", "", event.at
    Deal.objects.bulk_update(deals, ["name", "close_reason", "updated_at"])
    counts["deals"] = len(deals)


def _detach_from_accounts(person: Any, at: datetime) -> int:
    """Take the person out of their accounts. An account they were alone in was made from their
    details: it keeps its deals under a neutral name and loses its name and domains."""
    links = list(
        AccountContact.objects.filter(lead_id__in=person.lead_ids).select_related("account")
    )
    for link in links:
        account = link.account
        if account.contacts.exclude(lead_id__in=person.lead_ids).exists():
            continue
        person.add(account.name, *account.domains.values_list("domain", flat=True))
        account.domains.all().delete()
        Account.objects.filter(pk=account.pk).update(
            name=f"Account {account.pk}", name_key="", updated_at=at
        )
    return AccountContact.objects.filter(pk__in=[link.pk for link in links]).delete()[0]


def person_export_crm(event: PersonExporting) -> None:
    """The lead's activities, feedback, field history and deals."""
    data, lead = event.data, event.lead_id
    data["activities"] = _rows(
        Activity.objects.filter(lead_id=lead).order_by("occurred_at"),
        "id", "kind", "outcome", "occurred_at", "duration", "notes", "by__username",
    )  # fmt: skip
    data["feedback"] = _rows(
        LeadFeedback.objects.filter(lead_id=lead).order_by("created_at"),
        "id", "rating", "reason__name", "note", "is_current", "by__username", "created_at",
    )  # fmt: skip
    data["tasks"] = _rows(
        Task.objects.filter(lead_id=lead).order_by("due_at"),
        "id", "kind", "title", "due_at", "done_at", "assignee__username", "created_at",
    )  # fmt: skip
    data["history"] = _rows(
        LeadHistory.objects.filter(lead_id=lead), "field", "old", "new", "by__username", "at"
    )
    data["account"] = _rows(
        AccountContact.objects.filter(lead_id=lead), "account__name", "matched_by", "at"
    )
    data["deal_roles"] = _rows(
        DealContact.objects.filter(lead_id=lead), "deal_id", "role", "is_primary"
    )
    data["deals"] = _rows(
        Deal.objects.filter(lead_id=lead).order_by("created_at"),
        "id", "name", "amount", "stage__name", "close_reason", "closed_at",
        "expected_close_date", "created_at",
    )  # fmt: skip


def connect() -> None:
    """Subscribe crm's part of the export and of the erasure (CrmConfig.ready)."""
    events.subscribe(PersonErasing, person_erase_crm, order=ERASURE_ORDER)
    events.subscribe(PersonExporting, person_export_crm)
