from django import forms


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “Zapier” or “BI export”.")
    read_only = forms.BooleanField(required=False, help_text="Only reads (GET); writes get 403.")
    expires_in_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, help_text="Empty: never expires."
    )
