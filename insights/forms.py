"""Forms of the insights pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _


class AlertActionForm(forms.Form):
    """One action on an alert: dismiss, snooze until a day, assign (empty: nobody), reopen."""

    ACTIONS = [
        ("dismiss", _("Dismiss")),
        ("snooze", _("Snooze")),
        ("assign", _("Assign")),
        ("reopen", _("Reopen")),
    ]
    LABELS = {"action": _("Action"), "until": _("Snooze until"), "assignee": _("Assign to")}

    action = forms.ChoiceField(choices=ACTIONS)
    until = forms.DateField(required=False)
    assignee = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = get_user_model().objects.filter(is_active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("action") == "snooze" and not data.get("until") and "until" not in self.errors:
            self.add_error("until", _("Pick the day the alert comes back."))
        return data
