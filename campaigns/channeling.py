"""GA4-compatible marketing channel classification, free of any Django import.

An ordered list of ``Rule`` objects, compiled once with ``compile_rules``, maps the facts of a
touch (``TouchFacts``, from ``extract_facts`` in campaigns.touch_facts) to a channel with
``classify`` (first match wins). Only rule compilation raises (``RuleError``), because rules
are configuration; bad touch data never does.

URL and host parsing lives in ``campaigns.touch_urls``, GA4's source categories in
``campaigns.source_categories``, the facts of a touch in ``campaigns.touch_facts``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter
from typing import Any, Final

from campaigns.source_categories import (
    CATEGORIES,
    SourceCategories,
    canonical_category,
    default_categories,
)
from campaigns.touch_facts import TouchFacts, extract_facts
from campaigns.touch_urls import clean_cached

__all__ = [
    "CONDITION_FIELDS",
    "CONDITION_OPS",
    "UNASSIGNED",
    "Channel",
    "CompiledRules",
    "Condition",
    "Match",
    "Rule",
    "RuleError",
    "classify",
    "classify_touch",
    "compile_rules",
    "default_compiled_rules",
]

UNASSIGNED: Final = "Unassigned"


class RuleError(ValueError):
    """A channel rule cannot be compiled; ``rule_id`` names the offending rule."""

    def __init__(self, rule_id: str | None, message: str) -> None:
        self.rule_id = rule_id
        super().__init__(f"rule {rule_id!r}: {message}")


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------

CONDITION_FIELDS: Final = frozenset(
    {"source", "medium", "campaign", "referrer_host", "landing_host", "click_id"}
)
CONDITION_OPS: Final = frozenset(
    {"exact", "in", "contains", "regex", "category", "ends_with", "starts_with"}
)
# Categories describe sites, so only fields that can hold a site name may use them.
_CATEGORY_FIELDS: Final = frozenset({"source", "referrer_host", "landing_host"})


@dataclass(frozen=True, slots=True)
class Condition:
    """One test on a touch field, e.g. ``Condition("medium", "regex", "^(cpc|ppc)$")``."""

    field: str
    op: str
    value: str | Sequence[str]


@dataclass(frozen=True, slots=True)
class Rule:
    """Assign ``channel`` when all ``conditions`` hold (an empty list always holds)."""

    id: str
    channel: str
    conditions: Sequence[Condition] = ()


@dataclass(frozen=True, slots=True)
class Channel:
    """A channel of a channel group, as shown in reports."""

    name: str
    description: str
    paid: bool


@dataclass(frozen=True, slots=True)
class Match:
    """The channel a touch was put in and the id of the rule that did it (None: no rule)."""

    channel: str
    rule_id: str | None


_UNASSIGNED_MATCH: Final = Match(UNASSIGNED, None)

Predicate = Callable[[TouchFacts], bool]


@dataclass(frozen=True, slots=True, eq=False)
class CompiledRules:
    """Rules ready for ``classify``: regexes compiled, lists frozen, lookups memoised."""

    rules: tuple[Rule, ...]
    categories: SourceCategories
    _compiled: tuple[tuple[Match, tuple[Predicate, ...]], ...] = field(repr=False)
    _memo: Callable[[TouchFacts], Match] = field(repr=False)

    @property
    def channels(self) -> tuple[str, ...]:
        """Channel names in rule order, without repeats."""
        return tuple(dict.fromkeys(rule.channel for rule in self.rules))


def _text_value(rule_id: str, condition: Condition, *, allow_empty: bool = False) -> str:
    """The condition's value as a normalised string, or a RuleError."""
    if not isinstance(condition.value, str):
        raise RuleError(rule_id, f"op {condition.op!r} needs a string value")
    value = clean_cached(condition.value) if condition.value else ""
    if not value and not allow_empty:
        raise RuleError(rule_id, f"op {condition.op!r} needs a non-empty value")
    return value


def _compile_condition(
    rule_id: str, condition: Condition, category_of: Callable[[str], str | None]
) -> Predicate:
    """Turn one condition into a fast predicate over ``TouchFacts``."""
    if not isinstance(condition, Condition):
        raise RuleError(rule_id, f"not a Condition: {condition!r}")
    name, op = condition.field, condition.op
    if name not in CONDITION_FIELDS:
        raise RuleError(rule_id, f"unknown field {name!r} (use one of {sorted(CONDITION_FIELDS)})")
    if op not in CONDITION_OPS:
        raise RuleError(rule_id, f"unknown op {op!r} (use one of {sorted(CONDITION_OPS)})")

    if op == "in":
        if isinstance(condition.value, str) or not isinstance(condition.value, Iterable):
            raise RuleError(rule_id, "op 'in' needs a list of strings")
        items: set[str] = set()
        for item in condition.value:
            if not isinstance(item, str):
                raise RuleError(rule_id, f"op 'in' list holds a non-string: {item!r}")
            items.add(clean_cached(item) if item else "")
        choices = frozenset(items)
        if name == "click_id":
            return lambda facts: not choices.isdisjoint(facts.click_ids)
        get = attrgetter(name)
        return lambda facts: get(facts) in choices

    if op == "regex":
        if not isinstance(condition.value, str):
            raise RuleError(rule_id, "op 'regex' needs a pattern string")
        try:
            pattern = re.compile(condition.value, re.IGNORECASE)
        except re.error as error:
            raise RuleError(rule_id, f"bad regex {condition.value!r}: {error}") from None
        full = pattern.fullmatch
        if name == "click_id":
            return lambda facts: any(full(cid) for cid in facts.click_ids)
        get = attrgetter(name)
        return lambda facts: full(get(facts)) is not None

    if op == "category":
        if name not in _CATEGORY_FIELDS:
            raise RuleError(rule_id, f"op 'category' only applies to {sorted(_CATEGORY_FIELDS)}")
        if not isinstance(condition.value, str) or not (
            wanted := canonical_category(condition.value)
        ):
            raise RuleError(
                rule_id, f"unknown category {condition.value!r} (use one of {sorted(CATEGORIES)})"
            )
        get = attrgetter(name)
        return lambda facts: category_of(get(facts)) == wanted

    value = _text_value(rule_id, condition, allow_empty=op == "exact")
    if name == "click_id":
        ids = attrgetter("click_ids")
        if op == "exact":
            return lambda facts: value in ids(facts)
        if op == "contains":
            return lambda facts: any(value in cid for cid in ids(facts))
        if op == "starts_with":
            return lambda facts: any(cid.startswith(value) for cid in ids(facts))
        return lambda facts: any(cid.endswith(value) for cid in ids(facts))
    get = attrgetter(name)
    if op == "exact":
        return lambda facts: get(facts) == value
    if op == "contains":
        return lambda facts: value in get(facts)
    if op == "starts_with":
        return lambda facts: get(facts).startswith(value)
    return lambda facts: get(facts).endswith(value)


def compile_rules(
    rules: Iterable[Rule], categories: SourceCategories | None = None
) -> CompiledRules:
    """Validate and precompile an ordered rule list; raise ``RuleError`` on the first bad rule."""
    if categories is None:
        categories = default_categories()
    category_of = categories.category_of
    kept: list[Rule] = []
    compiled: list[tuple[Match, tuple[Predicate, ...]]] = []
    seen: set[str] = set()
    for rule in rules:
        if not isinstance(rule, Rule):
            raise RuleError(None, f"not a Rule: {rule!r}")
        if not isinstance(rule.id, str) or not rule.id.strip():
            raise RuleError(rule.id, "rule id must be a non-empty string")
        if rule.id in seen:
            raise RuleError(rule.id, "duplicate rule id")
        if not isinstance(rule.channel, str) or not rule.channel.strip():
            raise RuleError(rule.id, "channel must be a non-empty string")
        if isinstance(rule.conditions, (str, bytes)) or not isinstance(rule.conditions, Iterable):
            raise RuleError(rule.id, "conditions must be a list of Condition")
        seen.add(rule.id)
        predicates = tuple(
            _compile_condition(rule.id, condition, category_of) for condition in rule.conditions
        )
        kept.append(rule)
        compiled.append((Match(rule.channel, rule.id), predicates))
    table = tuple(compiled)

    def first_match(facts: TouchFacts) -> Match:
        for match, predicates in table:
            for predicate in predicates:
                if not predicate(facts):
                    break
            else:
                return match
        return _UNASSIGNED_MATCH

    # Safe to memoise: facts are immutable and the table never changes after compilation.
    memo = lru_cache(maxsize=16384)(first_match)
    return CompiledRules(tuple(kept), categories, table, memo)


def classify(facts: TouchFacts, compiled: CompiledRules) -> Match:
    """Return the first rule's channel that matches ``facts``, else Unassigned."""
    return compiled._memo(facts)


@lru_cache(maxsize=1)
def default_compiled_rules() -> CompiledRules:
    """The default GA4 + CRM rules compiled against the bundled categories, built once."""
    from campaigns.default_rules import DEFAULT_RULES  # late: default_rules imports this module

    return compile_rules(DEFAULT_RULES, default_categories())


def classify_touch(*, compiled: CompiledRules | None = None, **touch: Any) -> Match:
    """Extract facts from raw touch data (``extract_facts`` keywords) and classify them."""
    if compiled is None:
        compiled = default_compiled_rules()
    touch.setdefault("categories", compiled.categories)
    return classify(extract_facts(**touch), compiled)
