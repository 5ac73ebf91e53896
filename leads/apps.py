from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models import signals

from clm import events
from clm.events import CampaignSaved
from clm.localcache import version_bump


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Lead capture"

    def ready(self) -> None:
        events.subscribe(CampaignSaved, _link_campaign)
        # Capture keeps its forms per process (leads.selectors.capture_form_by_key): any change
        # to a form, to a user (a form's owner) or a deleted campaign (a form's default
        # campaign, set to NULL without a signal of the form) makes every process read again.
        uid = "leads.capture-forms"
        for sender, signal in (
            ("leads.CaptureForm", signals.post_save),
            ("leads.CaptureForm", signals.post_delete),
            (settings.AUTH_USER_MODEL, signals.post_save),
            (settings.AUTH_USER_MODEL, signals.post_delete),
            ("campaigns.Campaign", signals.post_delete),
        ):
            uid_of = f"{uid}.{sender}.{id(signal)}"
            signal.connect(_forms_changed, sender=sender, dispatch_uid=uid_of)


def _forms_changed(**_: Any) -> None:
    from leads.selectors import CAPTURE_FORMS_VERSION

    version_bump(CAPTURE_FORMS_VERSION)


def _link_campaign(event: CampaignSaved) -> None:
    """A saved campaign claims the stored touches with its UTM values (in its transaction)."""
    from leads.touches import touchpoints_link_campaign  # models are loaded by now

    touchpoints_link_campaign(
        campaign_id=event.campaign_id,
        utm_campaign=event.utm_campaign,
        utm_source=event.utm_source,
        utm_medium=event.utm_medium,
    )
