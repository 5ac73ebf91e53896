from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, ChannelRule, ReclassifyJob


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name", "channel", "utm_campaign", "utm_source", "utm_medium", "start_date",
            "end_date", "budget", "status", "owner", "notes",
        ]  # fmt: skip
        labels = {
            "name": _("Name"), "channel": _("Channel"), "start_date": _("Start date"),
            "end_date": _("End date"), "budget": _("Budget"), "status": _("Status"),
            "owner": _("Owner"), "notes": _("Notes"),
        }  # fmt: skip
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


class SpendUploadForm(forms.Form):
    MAX_BYTES = 20 * 1024 * 1024
    file = forms.FileField(
        label=_("File"),
        help_text=_(
            "CSV: date,campaign,cost[,impressions,clicks], or a Google Ads, Meta Ads, Microsoft "
            "Advertising or LinkedIn Campaign Manager cost export."
        ),
    )
    source = forms.CharField(
        required=False,
        max_length=40,
        label=_("Source"),
        help_text=_("Upsert key; default from the file's layout."),
    )
    create_campaigns = forms.BooleanField(
        required=False,
        label=_("Create campaigns"),
        help_text=_("Register campaigns the file names that CLM does not know."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > self.MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB; split it."))
        return upload


class RuleTestForm(forms.Form):
    """The rule test bench: a URL and referrer (and optional tags) to classify."""

    landing_url = forms.CharField(required=False, max_length=4000, label=_("Landing page URL"))
    referrer = forms.CharField(required=False, max_length=4000, label=_("Referrer"))
    utm_source = forms.CharField(required=False, max_length=255, label="utm_source")
    utm_medium = forms.CharField(required=False, max_length=255, label="utm_medium")
    utm_campaign = forms.CharField(required=False, max_length=255, label="utm_campaign")


class ReclassifyConfirmForm(forms.Form):
    """The word an admin types to reclassify every stored touchpoint."""

    confirm = forms.CharField(
        label=_("Type RECLASSIFY to confirm"), max_length=40, required=True, strip=True
    )

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"]
        if value != ReclassifyJob.CONFIRM_WORD:
            raise forms.ValidationError(
                _("Type %(word)s (in capitals) to confirm."),
                params={"word": ReclassifyJob.CONFIRM_WORD},
            )
        return value


class ChannelRuleAdminForm(forms.ModelForm):
    conditions = forms.JSONField(
        initial=list,
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80, "class": "clm-code"}),
        help_text='All must hold. e.g. [{"field": "medium", "op": "regex", "value": '
        '"^(cpc|ppc)$"}]. Fields: source, medium, campaign, referrer_host, landing_host, '
        "click_id. Ops: exact, in (a list), contains, regex, category (SEARCH, SOCIAL, "
        "SHOPPING, VIDEO), starts_with, ends_with.",
    )

    class Meta:
        model = ChannelRule
        fields = ["position", "name", "channel", "conditions", "is_active", "note"]

    def clean_conditions(self) -> Any:
        value = self.cleaned_data.get("conditions")
        if value in (None, ""):
            return []
        if isinstance(value, str):
            value = json.loads(value)
        return value
