"""The optimiser's form: a weekly budget and each channel's weekly bounds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mix.models import Control, LiftTest, Outcome

MAX_MONEY = Decimal("1000000000")


class FitForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=Outcome.choices)


class OptimiseForm(forms.Form):
    """`total` per week; `min_<i>` / `max_<i>` per channel (i: its position in the fit)."""

    total = forms.DecimalField(
        label=_("Weekly budget"), min_value=Decimal(0), max_value=MAX_MONEY, decimal_places=2
    )

    def __init__(
        self, *args: Any, channels: list[str], defaults: dict[str, tuple], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.channels = channels
        for i, name in enumerate(channels):
            low, high = defaults.get(name, (0, None))
            self.fields[f"min_{i}"] = forms.DecimalField(
                label=_("Least for %(channel)s") % {"channel": name},
                min_value=Decimal(0), max_value=MAX_MONEY, decimal_places=2,
                required=False, initial=low,
            )  # fmt: skip
            self.fields[f"max_{i}"] = forms.DecimalField(
                label=_("Most for %(channel)s") % {"channel": name},
                min_value=Decimal(0), max_value=MAX_MONEY, decimal_places=2,
                required=False, initial=high,
            )  # fmt: skip

    def rows(self) -> list[tuple[str, Any, Any]]:
        return [(n, self[f"min_{i}"], self[f"max_{i}"]) for i, n in enumerate(self.channels)]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        least = Decimal(0)
        for i, _name in enumerate(self.channels):
            low, high = data.get(f"min_{i}"), data.get(f"max_{i}")
            if low is not None and high is not None and high < low:
                self.add_error(f"max_{i}", _("The most is below the least."))
            least += low or Decimal(0)
        total = data.get("total")
        if total is not None and least > total:
            self.add_error("total", _("The channels' least amounts add up to more than this."))
        return data

    def bounds(self) -> dict[str, tuple[float, float | None]]:
        out = {}
        for i, name in enumerate(self.channels):
            low, high = self.cleaned_data.get(f"min_{i}"), self.cleaned_data.get(f"max_{i}")
            out[name] = (float(low or 0), None if high is None else float(high))
        return out


class LiftTestForm(forms.ModelForm):
    class Meta:
        model = LiftTest
        fields = ["channel", "outcome", "start", "end", "lift", "low", "high", "note"]
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }


class ControlForm(forms.ModelForm):
    class Meta:
        model = Control
        fields = ["name", "start", "end"]
        widgets = {
            "start": forms.DateInput(attrs={"type": "date"}),
            "end": forms.DateInput(attrs={"type": "date"}),
        }
