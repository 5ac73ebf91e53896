"""The stored channel rules as the pure classifier sees them, compiled once per version.

Each process keeps one compiled copy. A version fingerprint, kept in the cache and bumped by
every write to rules or source categories, tells a process when to compile again; on a cache
miss the fingerprint is read from the database, so a lost cache never serves stale rules long.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Max
from django.utils.translation import gettext as _

from campaigns import channeling
from campaigns.channeling import CompiledRules, Match, RuleError
from campaigns.source_categories import CATEGORIES, SourceCategories, default_categories
from campaigns.touch_facts import TouchFacts, extract_facts
from clm.localcache import forget, remember

VERSION_KEY = "campaigns:rules-version"
VERSION_TTL = 300  # seconds; a miss costs one small aggregate query

_lock = threading.Lock()
_compiled: dict[str, Any] = {"version": None, "rules": None, "channels": None}


def _conditions(raw: Any, rule_id: str) -> tuple[channeling.Condition, ...]:
    if not isinstance(raw, list):
        raise RuleError(rule_id, "conditions must be a list of {field, op, value}")
    out = []
    for item in raw:
        if not isinstance(item, dict) or set(item) - {"field", "op", "value"}:
            raise RuleError(rule_id, f"a condition must be {{field, op, value}}: {item!r}")
        value = item.get("value", "")
        if isinstance(value, list):
            value = tuple(str(v) for v in value)
        out.append(channeling.Condition(str(item.get("field", "")), str(item.get("op", "")), value))
    return tuple(out)


def to_pure_rule(rule: Any, channel_name: str | None = None) -> channeling.Rule:
    """A ChannelRule row as the classifier's Rule (its id is the row's primary key)."""
    rule_id = str(rule.pk or "new")
    return channeling.Rule(
        rule_id, channel_name or rule.channel.name, _conditions(rule.conditions, rule_id)
    )


def rule_errors(rule: Any) -> list[str]:
    """Why a ChannelRule cannot be compiled (empty when it can)."""
    try:
        channeling.compile_rules([to_pure_rule(rule, channel_name="check")], _categories())
    except RuleError as exc:
        return [str(exc)]
    return []


def conditions_errors(conditions: Any, rule_id: str = "candidate") -> list[str]:
    """Why a rule's conditions (parsed JSON) cannot be compiled (empty when they can)."""
    try:
        rule = channeling.Rule(rule_id, "check", _conditions(conditions, rule_id))
        channeling.compile_rules([rule], _categories())
    except RuleError as exc:
        return [str(exc)]
    return []


def _categories() -> SourceCategories:
    from campaigns.models import SourceCategory

    pairs = list(SourceCategory.objects.values_list("source", "category"))
    return SourceCategories(pairs) if pairs else default_categories()


def _fingerprint() -> str:
    from campaigns.models import Channel, ChannelRule, SourceCategory

    rules = ChannelRule.objects.aggregate(n=Count("id"), last=Max("updated_at"), top=Max("id"))
    cats = SourceCategory.objects.aggregate(n=Count("id"), top=Max("id"))
    channels = Channel.objects.aggregate(n=Count("id"), top=Max("id"))
    return (
        f"{rules['n']}.{rules['top']}.{rules['last']}:{cats['n']}.{cats['top']}:"
        f"{channels['n']}.{channels['top']}"
    )


def rules_version() -> str:
    """The current version of the rules (and source categories) all processes agree on.

    Read from the shared cache at most once a second per process: an edit reaches every
    process within a second.
    """
    return remember("rules-version", 1.0, _shared_rules_version)


def _shared_rules_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        version = _fingerprint()
        cache.set(VERSION_KEY, version, VERSION_TTL)
    return str(version)


def bump_rules_version() -> None:
    """Make every process compile the rules again (call after any edit, on commit)."""
    cache.delete(VERSION_KEY)
    import time

    cache.set(VERSION_KEY, f"{_fingerprint()}@{time.time_ns()}", VERSION_TTL)
    forget("rules-version")


def stored_rules() -> list[channeling.Rule]:
    """The active stored rules in order, as pure Rules."""
    from campaigns.models import ChannelRule

    rows = ChannelRule.objects.filter(is_active=True).select_related("channel")
    return [to_pure_rule(row) for row in rows.order_by("position", "id")]


def compiled_rules() -> CompiledRules:
    """The stored rules, compiled; recompiled only when the version changed."""
    version = rules_version()
    if _compiled["version"] != version:
        with _lock:
            if _compiled["version"] != version:
                _compiled["rules"] = channeling.compile_rules(stored_rules(), _categories())
                _compiled["channels"] = None
                _compiled["version"] = version
    return _compiled["rules"]


def channel_ids() -> dict[str, int]:
    """Channel name -> id, cached with the rules."""
    compiled_rules()
    if _compiled["channels"] is None:
        from campaigns.models import Channel

        _compiled["channels"] = dict(Channel.objects.values_list("name", "id"))
    return _compiled["channels"]


def own_domains() -> tuple[str, ...]:
    """The site's own domains: a referrer from these is not a new source."""
    return tuple(getattr(settings, "CLM_OWN_DOMAINS", ()))


@dataclass(frozen=True, slots=True)
class Classification:
    """What the classifier concluded for one touch, ready to store on a Touchpoint."""

    facts: TouchFacts
    match: Match
    channel_id: int


def classify(
    *,
    utm_source: str = "",
    utm_medium: str = "",
    utm_campaign: str = "",
    referrer: str = "",
    landing_url: str = "",
    click_ids: dict[str, str] | None = None,
    compiled: CompiledRules | None = None,
) -> Classification:
    """Classify one touch with the stored rules (or `compiled`, e.g. a candidate set)."""
    compiled = compiled or compiled_rules()
    facts = extract_facts(
        utm_source=utm_source,
        utm_medium=utm_medium,
        utm_campaign=utm_campaign,
        referrer=referrer,
        landing_url=landing_url,
        click_ids=click_ids,
        own_domains=own_domains(),
        categories=compiled.categories,
    )
    match = channeling.classify(facts, compiled)
    ids = channel_ids()
    channel_id = ids.get(match.channel) or ids[channeling.UNASSIGNED]
    return Classification(facts=facts, match=match, channel_id=channel_id)


def _field_labels() -> dict[str, str]:
    return {
        "source": _("Source (utm_source, else the referrer)"),
        "medium": _("Medium (utm_medium)"),
        "campaign": _("Campaign (utm_campaign)"),
        "referrer_host": _("Referrer host"),
        "landing_host": _("Landing page host"),
        "click_id": _("Click id (gclid, fbclid, msclkid …)"),
    }


def _op_labels() -> dict[str, tuple[str, str]]:
    """Operator -> (label, the value it takes: text, texts (several) or choice)."""
    return {
        "exact": (_("is exactly"), "text"),
        "in": (_("is any of"), "texts"),
        "contains": (_("contains"), "text"),
        "starts_with": (_("starts with"), "text"),
        "ends_with": (_("ends with"), "text"),
        "regex": (_("matches the pattern (regular expression)"), "text"),
        "category": (_("is a site of the category"), "choice"),
    }


def _category_choices() -> list[dict[str, str]]:
    labels = {"SEARCH": _("Search"), "SOCIAL": _("Social"), "SHOPPING": _("Shopping"),
              "VIDEO": _("Video")}  # fmt: skip
    return [{"value": name, "label": labels.get(name, name)} for name in sorted(CATEGORIES)]


def condition_catalogue() -> list[dict[str, Any]]:
    """The fields and operators of rule conditions, labelled, for the visual builder; the
    compiler's own lists (channeling.CONDITION_FIELDS, CONDITION_OPS) decide what exists."""
    fields, ops = _field_labels(), _op_labels()
    category_fields = channeling._CATEGORY_FIELDS
    out = []
    for name in sorted(channeling.CONDITION_FIELDS, key=list(fields).index):
        entry_ops = []
        for op in sorted(channeling.CONDITION_OPS, key=list(ops).index):
            if op == "category" and name not in category_fields:
                continue
            label, value = ops[op]
            item: dict[str, Any] = {"op": op, "label": label, "value": value}
            if op == "category":
                item["choices"] = _category_choices()
            entry_ops.append(item)
        out.append({"field": name, "label": fields[name], "kind": "text", "ops": entry_ops,
                    "choices": [], "needs_key": False, "help": "", "max": None})  # fmt: skip
    return out
