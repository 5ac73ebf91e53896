"""Forms of the segment editor and the sequence editor."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from nurture import rendering
from nurture.conditions import validate
from nurture.models import Segment, Sequence, Step


class SegmentForm(forms.ModelForm):
    definition = forms.CharField(
        label=_("Conditions (JSON)"),
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "code"}),
        help_text=_('A group {"op": "and"|"or", "rules": [...]} of conditions and groups.'),
    )

    class Meta:
        model = Segment
        fields = ["name", "description", "definition"]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial["definition"] = json.dumps(
                self.instance.definition if self.instance.pk else {"op": "and", "rules": []},
                indent=2,
            )

    def clean_definition(self) -> Any:
        try:
            definition = json.loads(self.cleaned_data["definition"])
        except ValueError as exc:
            raise ValidationError(_("Not valid JSON: %(error)s"), params={"error": exc}) from exc
        errors = validate(definition)
        if errors:
            raise ValidationError(errors)
        return definition


class SequenceForm(forms.ModelForm):
    class Meta:
        model = Sequence
        fields = ["name", "slug", "segment", "utm_source", "from_email"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The model's help names a setting; people are shown the address it holds.
        self.fields["from_email"].help_text = _(
            "Empty: the site's sender address, %(address)s."
        ) % {"address": settings.DEFAULT_FROM_EMAIL}


class StepForm(forms.ModelForm):
    class Meta:
        model = Step
        fields = ["position", "subject", "body", "delay_days", "delay_hours"]
        widgets = {"body": forms.Textarea(attrs={"rows": 7})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("subject", "body"):
            for problem in rendering.template_errors(data.get(name) or ""):
                self.add_error(name, problem)
        return data


StepFormSet = forms.inlineformset_factory(
    Sequence, Step, form=StepForm, extra=1, can_delete=True, min_num=1, validate_min=True
)
