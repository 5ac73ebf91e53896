"""Segment conditions: a registry of lead fields, their operators, and the compiler to a Q.

A segment definition is JSON: a group `{"op": "and"|"or", "rules": [...]}` whose rules are
conditions `{"field": ..., "op": ..., "value": ...}` or nested groups. Every field is one
`Field` entry in FIELDS: adding a field (a lead score, say) is one more entry. The compiler
builds Django lookups only from the registry, never SQL from the definition; anything it does
not know is a DefinitionError naming where in the definition it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import Exact, IContains
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Channel
from clm.roles import lead_owners
from crm.models import Account, Activity, Deal, LeadFeedback
from leads.models import CaptureForm, Lead, Submission, Touchpoint

MAX_DEPTH = 5
MAX_CONDITIONS = 60
CUSTOM_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .-]{0,63}$")


class DefinitionError(ValueError):
    """A segment definition that cannot be compiled; `errors` lists each problem by path."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Field:
    """One condition field: its operators and how a (op, value) becomes a Q on Lead."""

    name: str
    label: Any
    kind: str  # choice, number, bool, text (the editor picks its input from it)
    ops: tuple[str, ...]
    build: Callable[[str, Any, dict[str, Any]], Q]
    choices: Callable[[], Sequence[tuple[str, str]]] | None = None
    help: Any = ""
    needs_key: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


# --- helpers --------------------------------------------------------------------------------


def _values(value: Any) -> list[str]:
    """A list value as strings (a single value is a list of one)."""
    items = value if isinstance(value, list) else [value]
    return [str(v) for v in items]


def _in_or_not(op: str, q: Q) -> Q:
    return q if op in ("in", "eq", "is") else ~q


def _lead_ids(qs: Any) -> Any:
    return qs.filter(lead__isnull=False).values("lead_id")


# --- builders -------------------------------------------------------------------------------


def _stage(op: str, value: Any, cond: dict[str, Any]) -> Q:
    return _in_or_not(op, Q(stage__in=_values(value)))


def _touch_channel(channel: str) -> Callable[[str, Any, dict[str, Any]], Q]:
    """Condition on a channel relation of the lead (`first_channel`, `latest_touch__channel`)."""

    def build(op: str, value: Any, cond: dict[str, Any]) -> Q:
        q = Q(**{f"{channel}__name__in": _values(value)})
        if op == "not_in":
            # A lead without that touch is also "not in" those channels.
            return ~q | Q(**{f"{channel}__isnull": True})
        return q

    return build


def _campaign(op: str, value: Any, cond: dict[str, Any]) -> Q:

    ids = [int(v) for v in _values(value)]
    return _in_or_not(op, Q(pk__in=_lead_ids(Touchpoint.objects.filter(campaign_id__in=ids))))


def _form(op: str, value: Any, cond: dict[str, Any]) -> Q:

    ids = [int(v) for v in _values(value)]
    submitted = Submission.objects.filter(form_id__in=ids, status=Submission.Status.ACCEPTED)
    return _in_or_not(op, Q(pk__in=_lead_ids(submitted)) | Q(form_id__in=ids))


def _quality(op: str, value: Any, cond: dict[str, Any]) -> Q:

    current = LeadFeedback.objects.filter(is_current=True)
    q = Q()
    wanted = _values(value)
    parts = [Q(pk__in=_lead_ids(current.filter(rating__in=[v for v in wanted if v != "none"])))]
    if "none" in wanted:
        parts.append(~Q(pk__in=_lead_ids(current)))
    for part in parts:
        q |= part
    return _in_or_not(op, q)


def _owner(op: str, value: Any, cond: dict[str, Any]) -> Q:
    wanted = _values(value)
    q = Q(owner_id__in=[int(v) for v in wanted if v != "none"])
    if "none" in wanted:
        q |= Q(owner__isnull=True)
    return _in_or_not(op, q)


def _days_since_activity(op: str, value: Any, cond: dict[str, Any]) -> Q:

    since = timezone.now() - timedelta(days=int(value))
    recent = Q(pk__in=_lead_ids(Activity.objects.filter(occurred_at__gt=since)))
    # "More than N days" includes leads never worked: their last activity is longer ago still.
    return ~recent if op == "gt" else recent


def _days_since_created(op: str, value: Any, cond: dict[str, Any]) -> Q:
    since = timezone.now() - timedelta(days=int(value))
    return Q(created_at__lt=since) if op == "gt" else Q(created_at__gte=since)


def _lead_score(op: str, value: Any, cond: dict[str, Any]) -> Q:
    # Leads not scored yet match neither "more than" nor "fewer than".
    return Q(lead_score__score__gt=int(value)) if op == "gt" else Q(lead_score__score__lt=value)


def _deal_status(op: str, value: Any, cond: dict[str, Any]) -> Q:

    deals = {
        "open": Deal.objects.filter(stage__is_won=False, stage__is_lost=False),
        "won": Deal.objects.filter(stage__is_won=True),
        "lost": Deal.objects.filter(stage__is_lost=True),
    }
    q = Q()
    for status in _values(value):
        if status == "none":
            q |= ~Q(pk__in=_lead_ids(Deal.objects.all()))
        else:
            q |= Q(pk__in=_lead_ids(deals[status]))
    return _in_or_not(op, q)


def _account_tier(op: str, value: Any, cond: dict[str, Any]) -> Q:
    wanted = _values(value)
    tiers = [v for v in wanted if v != "none"] + ([""] if "none" in wanted else [])
    # Leads outside accounts have no tier to match ("is none of" selects them).
    return _in_or_not(op, Q(account_contact__account__tier__in=tiers))


def _account_target(op: str, value: Any, cond: dict[str, Any]) -> Q:
    target = Q(account_contact__account__is_target=True)
    return target if bool(value) else ~target


def _account_touches(days: int) -> Callable[[str, Any, dict[str, Any]], Q]:
    """The people of accounts whose people together had more (fewer) than N touches in the
    last `days` days (the account page's engagement); leads outside accounts match neither."""

    def build(op: str, value: Any, cond: dict[str, Any]) -> Q:
        since = timezone.now() - timedelta(days=days)
        busy = (
            Touchpoint.objects.filter(occurred_at__gte=since, lead__account_contact__isnull=False)
            .values("lead__account_contact__account_id")
            .annotate(n=Count("pk"))
        )
        if op == "gt":
            accounts = busy.filter(n__gt=int(value)).values("lead__account_contact__account_id")
            return Q(account_contact__account_id__in=accounts)
        enough = busy.filter(n__gte=int(value)).values("lead__account_contact__account_id")
        return Q(account_contact__isnull=False) & ~Q(account_contact__account_id__in=enough)

    return build


def _consent(op: str, value: Any, cond: dict[str, Any]) -> Q:
    # A withdrawal (unsubscribe, a request to an admin) outweighs any later consent flag.
    consenting = Q(consent_given=True, consent_withdrawn_at__isnull=True)
    return consenting if bool(value) else ~consenting


def _custom(op: str, value: Any, cond: dict[str, Any]) -> Q:
    key = cond["key"]
    has_key = Q(custom__has_key=key)
    if op == "is_set":
        return has_key
    if op == "not_set":
        return ~has_key
    text = Cast(KeyTextTransform(key, "custom"), TextField())
    if op == "contains":
        return has_key & Q(IContains(text, str(value)))
    equal = has_key & Q(Exact(text, _json_text(value)))
    return equal if op == "eq" else ~equal


def _json_text(value: Any) -> str:
    """A value as the database shows a JSON scalar as text (true, 12, 12.5, text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- choices --------------------------------------------------------------------------------


def _stage_choices() -> list[tuple[str, str]]:

    return [(v, str(label)) for v, label in Lead.Stage.choices]


def _channel_choices() -> list[tuple[str, str]]:

    return [
        (n, n)
        for n in Channel.objects.order_by("display_order", "name").values_list("name", flat=True)
    ]


def _campaign_choices() -> list[tuple[str, str]]:

    return [
        (str(pk), name) for pk, name in Campaign.objects.order_by("name").values_list("pk", "name")
    ]


def _form_choices() -> list[tuple[str, str]]:

    return [
        (str(pk), name)
        for pk, name in CaptureForm.objects.order_by("name").values_list("pk", "name")
    ]


def _owner_choices() -> list[tuple[str, str]]:
    people = [(str(u.pk), u.get_full_name() or u.username) for u in lead_owners()]
    return [("none", str(_("Nobody (unassigned)"))), *people]


def _quality_choices() -> list[tuple[str, str]]:
    return [
        ("good", str(_("Good fit"))),
        ("poor", str(_("Poor fit"))),
        ("none", str(_("Not rated"))),
    ]


def _tier_choices() -> list[tuple[str, str]]:
    return [*((v, str(label)) for v, label in Account.Tier.choices), ("none", str(_("No tier")))]


def _deal_choices() -> list[tuple[str, str]]:
    return [
        ("none", str(_("No deal"))),
        ("open", str(_("Open deal"))),
        ("won", str(_("Won deal"))),
        ("lost", str(_("Lost deal"))),
    ]


SET_OPS = ("in", "not_in")
DAY_OPS = ("gt", "lt")

FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("stage", _("Lifecycle stage"), "choice", SET_OPS, _stage, _stage_choices),
        Field("first_channel", _("First-touch channel"), "choice", SET_OPS,
              _touch_channel("first_channel"), _channel_choices),
        Field("latest_channel", _("Latest-touch channel"), "choice", SET_OPS,
              _touch_channel("latest_touch__channel"), _channel_choices),
        Field("campaign", _("Touched by campaign"), "choice", SET_OPS, _campaign,
              _campaign_choices),
        Field("form", _("Submitted form"), "choice", SET_OPS, _form, _form_choices),
        Field("owner", _("Owner"), "choice", SET_OPS, _owner, _owner_choices),
        Field("quality", _("Quality rating"), "choice", SET_OPS, _quality, _quality_choices),
        Field("days_since_activity", _("Days since last CRM activity"), "number", DAY_OPS,
              _days_since_activity, help=_("gt: no activity in the last N days (or never)")),
        Field("days_since_created", _("Days since captured"), "number", DAY_OPS,
              _days_since_created),
        Field("lead_score", _("Lead score (0-100)"), "number", DAY_OPS, _lead_score,
              extra={"max": 100, "unit": "points"}),
        Field("deal_status", _("Has a deal that is"), "choice", SET_OPS, _deal_status,
              _deal_choices),
        Field("account_tier", _("Account tier"), "choice", SET_OPS, _account_tier,
              _tier_choices, help=_("the tier of the account the lead works for")),
        Field("account_target", _("Works for a target account"), "bool", ("is",),
              _account_target),
        Field("account_touches_30", _("Touches of the account's people, last 30 days"),
              "number", DAY_OPS, _account_touches(30),
              extra={"max": 100000, "unit": "touches"}),
        Field("account_touches_90", _("Touches of the account's people, last 90 days"),
              "number", DAY_OPS, _account_touches(90),
              extra={"max": 100000, "unit": "touches"}),
        Field("consent", _("Marketing consent"), "bool", ("is",), _consent),
        Field("custom", _("Custom field"), "text", ("eq", "ne", "contains", "is_set", "not_set"),
              _custom, needs_key=True, help=_('needs "key": the custom field name')),
    )
}  # fmt: skip

OPERATOR_LABELS = {
    "in": _("is any of"),
    "not_in": _("is none of"),
    "gt": _("more than"),
    "lt": _("fewer than"),
    "is": _("is"),
    "eq": _("equals"),
    "ne": _("does not equal"),
    "contains": _("contains"),
    "is_set": _("is set"),
    "not_set": _("is not set"),
}
VALUELESS_OPS = ("is_set", "not_set")


def _check_value(spec: Field, op: str, value: Any, path: str) -> list[str]:
    if op in VALUELESS_OPS:
        return []
    if spec.kind == "number":
        top, unit = spec.extra.get("max", 36500), spec.extra.get("unit", "days")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            return [f"{path}.value: a whole number of {unit} from 0 to {top}"]
        return []
    if spec.kind == "bool":
        return [] if isinstance(value, bool) else [f"{path}.value: true or false"]
    if spec.kind == "text":
        if isinstance(value, (str, int, float, bool)) and len(str(value)) <= 500:
            return []
        return [f"{path}.value: a text, number or true/false (at most 500 characters)"]
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > 200:
        return [f"{path}.value: one to 200 values"]
    if any(not isinstance(v, (str, int)) or isinstance(v, bool) for v in values):
        return [f"{path}.value: values must be texts or ids"]
    allowed = {c for c, _label in spec.choices()} if spec.choices else None
    unknown = [str(v) for v in values if allowed is not None and str(v) not in allowed]
    if unknown:
        return [f"{path}.value: unknown {spec.name} value(s): {', '.join(unknown[:5])}"]
    return []


def _check_condition(cond: dict[str, Any], path: str) -> list[str]:
    extra = set(cond) - {"field", "op", "value", "key"}
    if extra:
        return [f"{path}: unknown key(s) {', '.join(sorted(extra))}"]
    name = cond.get("field")
    spec = FIELDS.get(name) if isinstance(name, str) else None
    if spec is None:
        return [f"{path}.field: unknown field {name!r} (known: {', '.join(FIELDS)})"]
    op = cond.get("op")
    if op not in spec.ops:
        return [
            f"{path}.op: unknown operator {op!r} for {spec.name} (known: {', '.join(spec.ops)})"
        ]
    errors = []
    if spec.needs_key:
        key = cond.get("key")
        if not isinstance(key, str) or not CUSTOM_KEY.match(key):
            errors.append(
                f"{path}.key: the custom field's name (letters, digits, _ . - and spaces)"
            )
    elif "key" in cond:
        errors.append(f"{path}.key: only the custom field takes a key")
    if op not in VALUELESS_OPS and "value" not in cond:
        errors.append(f"{path}.value: required")
    else:
        errors += _check_value(spec, op, cond.get("value"), path)
    return errors


def validate(definition: Any) -> list[str]:
    """Every problem of a definition, each prefixed by its path (empty when valid)."""
    errors: list[str] = []
    count = [0]

    def group(node: Any, path: str, depth: int) -> None:
        if not isinstance(node, dict):
            errors.append(f"{path}: a group {{op, rules}} or a condition {{field, op, value}}")
            return
        if "field" in node:
            count[0] += 1
            errors.extend(_check_condition(node, path))
            return
        extra = set(node) - {"op", "rules"}
        if extra:
            errors.append(f"{path}: unknown key(s) {', '.join(sorted(extra))}")
        if node.get("op") not in ("and", "or"):
            errors.append(f"{path}.op: a group's op is 'and' or 'or'")
        rules = node.get("rules")
        if not isinstance(rules, list):
            errors.append(f"{path}.rules: a list of conditions and groups")
            return
        if depth > MAX_DEPTH:
            errors.append(f"{path}: groups nest at most {MAX_DEPTH} deep")
            return
        for i, child in enumerate(rules):
            group(child, f"{path}.rules[{i}]", depth + 1)

    group(definition, "definition", 1)
    if count[0] > MAX_CONDITIONS:
        errors.append(f"definition: at most {MAX_CONDITIONS} conditions")
    return errors


def compile_definition(definition: Any) -> Q:
    """The Q selecting the leads a definition describes; raises DefinitionError when invalid.

    An empty group matches every lead (a segment of everyone).
    """
    errors = validate(definition)
    if errors:
        raise DefinitionError(errors)
    return _compile(definition)


def _compile(node: dict[str, Any]) -> Q:
    if "field" in node:
        spec = FIELDS[node["field"]]
        return spec.build(node["op"], node.get("value"), node)
    q = Q()
    for child in node["rules"]:
        part = _compile(child)
        q = (q & part) if node["op"] == "and" else (q | part)
    return q


def _value_kind(spec: Field, op: str) -> str:
    """Which input the builder shows for a value: choices (several), number, bool, text, none."""
    if op in VALUELESS_OPS:
        return "none"
    return "choices" if spec.kind == "choice" else spec.kind


def describe() -> list[dict[str, Any]]:
    """The registry as the editor and the API show it: fields, operators, choices."""
    return [
        {
            "field": spec.name,
            "label": str(spec.label),
            "kind": spec.kind,
            "ops": [
                {"op": op, "label": str(OPERATOR_LABELS[op]), "value": _value_kind(spec, op)}
                for op in spec.ops
            ],
            "choices": [{"value": v, "label": label} for v, label in spec.choices()]
            if spec.choices
            else [],
            "needs_key": spec.needs_key,
            "help": str(spec.help),
            "max": spec.extra.get("max", 36500) if spec.kind == "number" else None,
        }
        for spec in FIELDS.values()
    ]
