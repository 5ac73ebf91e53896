"""The restricted renderer of nurture emails: merge fields and links, nothing else.

Marketers' text is never given to Django's template engine. A body is plain text with
`{{ field }}` merge fields from a fixed list and links (`https://...` or `[label](https://...)`);
links are found in the template, before merging, so a lead's own data never becomes a link.
In the HTML part every piece of text and every value is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape

from clm.mail import mail_subject

MERGE_FIELDS = ("first_name", "last_name", "email", "company")
_TOKEN = re.compile(
    r"\{\{\s*(?P<merge>[^{}]*?)\s*\}\}"
    r"|\[(?P<label>[^\]\n]{1,200})\]\((?P<target>https?://[^\s()<>]+)\)"
    r"|(?P<bare>https?://[^\s<>\"'()\[\]]+[^\s<>\"'()\[\].,;:!?])"
)


@dataclass(frozen=True)
class Part:
    """A piece of a template: literal text, a merge field, or a link."""

    kind: str  # text, merge, link
    text: str = ""
    url: str = ""


def parse(template: str) -> list[Part]:
    """The parts of a template; raises ValueError naming every unknown merge field."""
    parts: list[Part] = []
    errors: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(template):
        parts.append(Part("text", template[pos : match.start()]))
        if match.group("merge") is not None or match.group(0).startswith("{{"):
            name = (match.group("merge") or "").strip()
            if name not in MERGE_FIELDS:
                errors.append(
                    f"unknown merge field {{{{ {name} }}}} (known: {', '.join(MERGE_FIELDS)})"
                )
            parts.append(Part("merge", name))
        elif match.group("label") is not None:
            parts.append(Part("link", match.group("label"), match.group("target")))
        else:
            parts.append(Part("link", match.group("bare"), match.group("bare")))
        pos = match.end()
    parts.append(Part("text", template[pos:]))
    for part in parts:
        if part.kind == "text" and ("{{" in part.text or "}}" in part.text):
            errors.append("a merge field is not closed: write {{ first_name }}")
            break
    if errors:
        raise ValueError("; ".join(dict.fromkeys(errors)))
    return [p for p in parts if p.kind != "text" or p.text]


def template_errors(template: str) -> list[str]:
    """Why a subject or body cannot be rendered (empty when it can)."""
    try:
        parse(template)
    except ValueError as exc:
        return str(exc).split("; ")
    return []


def links(template: str) -> list[str]:
    """The destinations of a template's links, in order."""
    return [p.url for p in parse(template) if p.kind == "link"]


def _values(lead: Any) -> dict[str, str]:
    return {name: str(getattr(lead, name, "") or "") for name in MERGE_FIELDS}


def render_subject(template: str, lead: Any) -> str:
    """A subject line: merge fields filled, links left as text, no line breaks."""
    values = _values(lead)
    out = "".join(
        values[p.text] if p.kind == "merge" else (p.url if p.kind == "link" else p.text)
        for p in parse(template)
    )
    return mail_subject(out, max_chars=250)


def render_body(template: str, lead: Any, *, link: Callable[[str], str]) -> tuple[str, str]:
    """The text and HTML bodies; `link(url)` gives the tracked address of each link."""
    values = _values(lead)
    text: list[str] = []
    html: list[str] = []
    for part in parse(template):
        if part.kind == "merge":
            text.append(values[part.text])
            html.append(escape(values[part.text]))
        elif part.kind == "link":
            tracked = link(part.url)
            text.append(tracked if part.text == part.url else f"{part.text} ({tracked})")
            html.append(f'<a href="{escape(tracked)}">{escape(part.text)}</a>')
        else:
            text.append(part.text)
            html.append(escape(part.text))
    paragraphs = re.split(r"\n\s*\n", "".join(html).strip())
    html_body = "".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return "".join(text).strip(), html_body
