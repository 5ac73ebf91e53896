"""Forms of the CRM pages: they parse and validate input; crm.services do the writing.

Every choice of a related row (a lead's owner, a channel, a reason) comes from a selector, so a
form accepts only what the user may pick.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import selectors
from crm.models import Activity, LeadFeedback, Task
from leads.models import Lead


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.username


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return _user_label(obj)


class ActivityForm(forms.Form):
    """Log a call, email, meeting, note, event or inbound call; outcome is the button pressed."""

    kind = forms.ChoiceField(choices=Activity.Kind.choices, initial=Activity.Kind.CALL)
    outcome = forms.ChoiceField(choices=[("", "—"), *Activity.Outcome.choices], required=False)
    occurred_at = forms.DateTimeField(
        required=False,
        label=_("When"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty for now."),
    )
    duration_minutes = forms.IntegerField(
        required=False, min_value=0, max_value=24 * 60, label=_("Minutes")
    )
    meeting_at = forms.DateTimeField(
        required=False,
        label=_("Meeting at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("When “Meeting booked”: the follow-up is proposed at this time."),
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    channel = forms.ModelChoiceField(
        queryset=selectors.active_channels(),
        required=False,
        help_text=_("Events and inbound calls that brought the lead in count in attribution."),
    )
    campaign = forms.ModelChoiceField(queryset=selectors.active_campaigns(), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        minutes = data.pop("duration_minutes", None)
        data["duration"] = timedelta(minutes=minutes) if minutes is not None else None
        return data


class HeardAboutForm(forms.Form):
    """How the lead heard of us, as sales learned it; leads.services checks the option."""

    heard_about = forms.CharField(max_length=40, required=False)
    heard_about_other = forms.CharField(max_length=200, required=False)


class StageForm(forms.Form):
    """Move a lead to a lifecycle stage; a reason when disqualifying."""

    stage = forms.ChoiceField(choices=Lead.Stage.choices)
    reason = forms.ModelChoiceField(
        queryset=selectors.disqualify_reasons(), required=False, empty_label=_("Reason…")
    )


class AssignForm(forms.Form):
    """Give one lead, or the leads ticked in the queue, to an owner."""

    owner = OwnerChoiceField(
        queryset=selectors.assignable_owners(), required=False, empty_label=_("Unassigned")
    )


class BulkAssignForm(AssignForm):
    leads = forms.ModelMultipleChoiceField(queryset=Lead.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["leads"].queryset = selectors.leads_visible_to(user)
        self.fields["leads"].error_messages["required"] = _("Tick the leads to assign.")


class FeedbackForm(forms.Form):
    """Rate a lead's fit, with a reason (required for a poor fit)."""

    rating = forms.ChoiceField(choices=LeadFeedback.Rating.choices)
    reason = forms.ModelChoiceField(
        queryset=selectors.quality_reasons(), required=False, empty_label=_("Reason…")
    )
    note = forms.CharField(required=False, max_length=2000)


class DealForm(forms.Form):
    """Open a deal on the lead."""

    name = forms.CharField(max_length=200)
    amount = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0"), initial=Decimal("0")
    )
    expected_close_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=_("Expected close")
    )

    def clean_expected_close_date(self) -> Any:
        value = self.cleaned_data.get("expected_close_date")
        if value is not None and value < timezone.localdate() - timedelta(days=365):
            raise forms.ValidationError(_("That is more than a year ago."))
        return value


class DealStageForm(forms.Form):
    """Move an open deal to another open pipeline stage."""

    stage = forms.ModelChoiceField(queryset=selectors.open_pipeline_stages())


class DealCloseForm(forms.Form):
    """Mark a deal won or lost; a lost deal needs a reason."""

    outcome = forms.ChoiceField(choices=[("won", "Won"), ("lost", "Lost")])
    reason = forms.CharField(required=False, max_length=300)


class TaskForm(forms.Form):
    """A follow-up on a lead: what, when, how; a manager may give it to someone else."""

    title = forms.CharField(max_length=200, label=_("Follow-up"))
    kind = forms.ChoiceField(choices=Task.Kind.choices, initial=Task.Kind.CALL, label=_("Kind"))
    due_at = forms.DateTimeField(
        label=_("Due"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    assignee = OwnerChoiceField(
        queryset=selectors.assignable_owners(),
        required=False,
        empty_label=_("The lead's owner"),
        label=_("For"),
    )


class SavedViewForm(forms.Form):
    """Save the queue's current filters under a name."""

    name = forms.CharField(max_length=80, label=_("View name"))
    query = forms.CharField(max_length=2000, required=False)
    shared = forms.BooleanField(required=False, label=_("Share with the team"))


class BulkStageForm(forms.Form):
    """Move the leads ticked in the queue to one lifecycle stage."""

    stage = forms.ChoiceField(
        choices=[(v, label) for v, label in Lead.Stage.choices if v != Lead.Stage.DISQUALIFIED]
    )
    leads = forms.ModelMultipleChoiceField(queryset=Lead.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["leads"].queryset = selectors.leads_visible_to(user)
        self.fields["leads"].error_messages["required"] = _("Tick the leads to move.")
