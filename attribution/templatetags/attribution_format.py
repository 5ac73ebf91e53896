"""Human names for attribution models in pages: "Position-based", never `position_based`."""

from __future__ import annotations

from typing import Any

from django import template

from attribution.charts import MODEL_LABELS

register = template.Library()


@register.filter
def model_label(key: Any) -> str:
    """The translated name of an attribution model key; an unknown key is shown as it is."""
    return str(MODEL_LABELS.get(str(key), key))
