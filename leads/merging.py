"""Merge leads whose addresses differ only in case or surrounding spaces into one per person.

Used by the migration that makes addresses unique case-insensitively (leads 0008), with the
migration's historical models, so it imports no model: `apps` is the registry to read them from
(the migration's state, or django.apps.apps). Every row that points at a duplicate, in any app,
moves to the oldest lead; the relations are discovered from Lead's reverse fields, so a new
model with a foreign key to Lead is merged too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.db.models.functions import Lower, Trim

CONTACT_FIELDS = ("first_name", "last_name", "phone", "company", "consent_page")


def _normalised(queryset: Any) -> Any:
    return queryset.annotate(normalised_email=Lower(Trim("email")))


def _reverse_relations(lead_model: Any) -> list[Any]:
    """Every foreign key and one-to-one field pointing at Lead, hidden ones (related_name="+")
    included."""
    return [
        rel
        for rel in lead_model._meta.get_fields(include_hidden=True)
        if rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)
    ]


def _move_rows(rel: Any, kept: Any, other: Any, counts: Counter[str]) -> None:
    model, field = rel.related_model, rel.field.name
    label = model._meta.label
    rows = model._base_manager.filter(**{field: other.pk})
    if rel.one_to_one:
        # One row per lead (a score): the kept lead's own row wins.
        if model._base_manager.filter(**{field: kept.pk}).exists():
            counts[f"{label} dropped"] += rows.delete()[0]
        else:
            counts[label] += rows.update(**{field: kept.pk})
        return
    try:
        with transaction.atomic():
            counts[label] += rows.update(**{field: kept.pk})
        return
    except IntegrityError:
        pass
    # A per-lead unique constraint (one membership per segment, one current feedback ...):
    # move row by row; a row that would duplicate one of the kept lead's is, if it can be,
    # kept as not current, else dropped (the kept lead already has its equivalent).
    names = {f.name for f in model._meta.concrete_fields}
    for pk in list(rows.values_list("pk", flat=True)):
        one = model._base_manager.filter(pk=pk)
        try:
            with transaction.atomic():
                counts[label] += one.update(**{field: kept.pk})
            continue
        except IntegrityError:
            pass
        if "is_current" in names:
            try:
                with transaction.atomic():
                    counts[label] += one.update(**{field: kept.pk, "is_current": False})
                continue
            except IntegrityError:
                pass
        counts[f"{label} dropped"] += one.delete()[0]


def _move_alerts(apps: Any, kept: Any, other: Any, counts: Counter[str]) -> None:
    """Alerts name their lead in a text key ("lead:<id>"), not a foreign key."""
    try:
        alert_model = apps.get_model("insights", "Alert")
    except LookupError:
        return
    for alert in list(alert_model._base_manager.filter(key=f"lead:{other.pk}")):
        alert.key = f"lead:{kept.pk}"
        if isinstance(alert.data, dict) and "lead_id" in alert.data:
            alert.data = {**alert.data, "lead_id": kept.pk}
        try:
            with transaction.atomic():
                alert.save(update_fields=["key", "data"])
            counts[alert_model._meta.label] += 1
        except IntegrityError:
            alert_model._base_manager.filter(pk=alert.pk).delete()
            counts[f"{alert_model._meta.label} dropped"] += 1


def _fill_fields(kept: Any, other: Any) -> None:
    """The kept lead's decided fields stay (stage, owner, form, created_at, consent); its empty
    ones are filled from the duplicate. A withdrawal on either withdraws for the person."""
    for name in CONTACT_FIELDS:
        if not getattr(kept, name) and getattr(other, name):
            setattr(kept, name, getattr(other, name))
    kept.custom = {**(other.custom or {}), **(kept.custom or {})}
    for name in ("owner_id", "form_id"):
        if getattr(kept, name) is None:
            setattr(kept, name, getattr(other, name))
    if not kept.consent_given and other.consent_given and kept.consent_withdrawn_at is None:
        for name in ("consent_given", "consent_version", "consent_text", "consent_at"):
            setattr(kept, name, getattr(other, name))
    withdrawn = [t for t in (kept.consent_withdrawn_at, other.consent_withdrawn_at) if t]
    if withdrawn:
        kept.consent_withdrawn_at, kept.consent_given = min(withdrawn), False
    firsts = [t for t in (kept.first_contacted_at, other.first_contacted_at) if t]
    kept.first_contacted_at = min(firsts) if firsts else None
    lasts = [t for t in (kept.last_contacted_at, other.last_contacted_at) if t]
    kept.last_contacted_at = max(lasts) if lasts else None


def _refresh_touches(apps: Any, kept: Any) -> None:
    touch_model = apps.get_model("leads", "Touchpoint")
    touches = touch_model._base_manager.filter(lead_id=kept.pk).order_by("occurred_at", "id")
    names = {f.name for f in touch_model._meta.concrete_fields}
    counted = touches.filter(late_stitched=False) if "late_stitched" in names else touches
    first = counted.first()
    kept.first_touch_id = first.pk if first else None
    kept.first_channel_id = first.channel_id if first else None
    kept.first_campaign_id = first.campaign_id if first else None
    latest = touches.last()
    kept.latest_touch_id = latest.pk if latest else None
    if kept.creation_touch_id is None:
        created = touches.filter(kind="form_submit").first()
        kept.creation_touch_id = created.pk if created else None


def _mark_rollups(apps: Any) -> None:
    """Lead counts changed: mark every day of every rollup for the next refresh."""
    try:
        mark_model = apps.get_model("crm", "RollupMark")
    except LookupError:
        return
    kinds = [value for value, _label in mark_model._meta.get_field("kind").choices]
    mark_model._base_manager.bulk_create([mark_model(kind=kind, day=None) for kind in kinds])


def lead_duplicates_merge(apps: Any, *, report: Callable[[str], Any] = print) -> Counter[str]:
    """Merge leads with the same normalised address into the oldest one, then store every
    address normalised (trimmed, lower-cased); returns the counts of what moved.

    Idempotent: once merged, a second run finds no duplicates and merges nothing.
    """
    lead_model = apps.get_model("leads", "Lead")
    manager = lead_model._base_manager
    counts: Counter[str] = Counter()
    duplicated = list(
        _normalised(manager.all())
        .values("normalised_email")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("normalised_email", flat=True)
        .order_by("normalised_email")
    )
    relations = _reverse_relations(lead_model)
    for email in duplicated:
        leads = list(
            _normalised(manager.all()).filter(normalised_email=email).order_by("created_at", "id")
        )
        kept, others = leads[0], leads[1:]
        for other in others:
            for rel in relations:
                _move_rows(rel, kept, other, counts)
            _move_alerts(apps, kept, other, counts)
            _fill_fields(kept, other)
            manager.filter(pk=other.pk).delete()
            counts["leads merged"] += 1
        _refresh_touches(apps, kept)
        kept.save()
    counts["addresses normalised"] = (
        _normalised(manager.all())
        .exclude(email=Lower(Trim("email")))
        .update(email=Lower(Trim("email")))
    )
    if counts["leads merged"]:
        _mark_rollups(apps)
    report(
        f"Leads with the same address in another case: {len(duplicated)} address(es), "
        f"{counts['leads merged']} duplicate lead(s) merged into the oldest; "
        + ", ".join(f"{n} {label}" for label, n in sorted(counts.items()) if n)
        if counts["leads merged"]
        else f"Leads with the same address in another case: none; "
        f"{counts['addresses normalised']} addresses lower-cased."
    )
    return counts
