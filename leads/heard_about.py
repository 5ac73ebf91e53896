"""Self-reported attribution: "How did you hear about us?" on a capture form.

A form that asks offers a list of options (its own, else DEFAULT_OPTIONS) plus "Other" with a
free text. A post sends `heard_about` (an option key, or "other") and `heard_about_other` (the
free text; alone it means "other"). The answer is kept on the submission and, the first time
one is given, on the lead (leads.services).
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _

OTHER = "other"
KEY_RE = re.compile(r"\A[a-z0-9_-]{1,40}\Z")
MAX_OTHER = 200
MAX_OPTIONS = 30

DEFAULT_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("search", _("Search engine")),
    ("social", _("Social media")),
    ("podcast", _("Podcast")),
    ("friend", _("Friend or colleague")),
    ("event", _("Event or conference")),
    ("community", _("Online community")),
    ("ad", _("Advertisement")),
)


def form_options(form: Any) -> list[tuple[str, str]]:
    """(key, label) of the options a form offers, without "Other"."""
    configured = [
        (str(o.get("key", "")), str(o.get("label", "") or o.get("key", "")))
        for o in (getattr(form, "heard_about_options", None) or [])
        if isinstance(o, dict)
    ]
    return configured or [(k, str(label)) for k, label in DEFAULT_OPTIONS]


def answer_label(form: Any, key: str) -> str:
    """The label of an answer's key on this form ("Other" for other; the key if unknown)."""
    if key == OTHER:
        return str(_("Other"))
    return dict(form_options(form)).get(key) or dict(DEFAULT_OPTIONS).get(key) or key


def options_errors(options: Any) -> list[str]:
    """What is wrong with a form's configured option list ([] when it is fine)."""
    if not isinstance(options, list):
        return ['A list of {"key": ..., "label": ...}.']
    if len(options) > MAX_OPTIONS:
        return [f"At most {MAX_OPTIONS} options."]
    problems, seen = [], set()
    for index, option in enumerate(options):
        if not isinstance(option, dict) or not isinstance(option.get("key"), str):
            problems.append(f'Option {index + 1}: an object with a "key".')
            continue
        key, label = option["key"], option.get("label", "")
        if not KEY_RE.match(key) or key == OTHER:
            problems.append(
                f"Option {index + 1}: the key is 1-40 lower-case letters, digits, '_' or '-', "
                'and not "other" ("Other" is always offered).'
            )
        elif key in seen:
            problems.append(f"Option {index + 1}: the key {key!r} is used twice.")
        if not isinstance(label, str) or len(label) > 100:
            problems.append(f"Option {index + 1}: the label is text of at most 100 characters.")
        seen.add(key)
    return problems


def normalise_text(text: str) -> str:
    """Free text as compared and grouped: whitespace collapsed, trimmed, lower case."""
    return " ".join(text.split()).lower()


def answer_of(form: Any, data: Any) -> tuple[str, str, dict[str, list[str]]]:
    """(key, free text, errors) of a post's answer; ("", "", {}) when none was given or the
    form does not ask."""
    if not getattr(form, "ask_heard_about", False):
        return "", "", {}
    raw_key = data.get("heard_about", "")
    raw_other = data.get("heard_about_other", "")
    key = raw_key.strip() if isinstance(raw_key, str) else ""
    other = " ".join(raw_other.split()) if isinstance(raw_other, str) else ""
    errors: dict[str, list[str]] = {}
    if other and (len(other) > MAX_OTHER or not other.isprintable()):
        errors["heard_about_other"] = [
            f"At most {MAX_OTHER} characters of plain text (no control characters)."
        ]
    keys = [k for k, _label in form_options(form)]
    if not key and other:
        key = OTHER
    if key and key not in (*keys, OTHER):
        errors["heard_about"] = [f"Choose one of: {', '.join((*keys, OTHER))}."]
    if errors:
        return "", "", errors
    return key, other if key == OTHER else "", {}
