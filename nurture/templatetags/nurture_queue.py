"""The work queue's "enrol in a sequence" bulk action: the sequences to choose from.

A template tag, so the queue (crm, a lower app) offers nurture's action without importing it.
"""

from __future__ import annotations

from typing import Any

from django import template

from nurture import selectors

register = template.Library()


@register.simple_tag
def enrollable_sequences() -> list[Any]:
    """Active or paused sequences with steps, by name."""
    return list(selectors.enrollable_sequences())
