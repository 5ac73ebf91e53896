from django import forms
from django.utils.translation import gettext_lazy as _


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What uses it, e.g. “Zapier” or “BI export”.")
    )
    read_only = forms.BooleanField(
        label=_("Read only"), required=False, help_text=_("Only reads (GET); writes get 403.")
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires in days"),
        required=False,
        min_value=1,
        max_value=3650,
        help_text=_("Empty: never expires."),
    )
