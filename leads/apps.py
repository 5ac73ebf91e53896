from django.apps import AppConfig

from clm import events
from clm.events import CampaignSaved


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Lead capture"

    def ready(self) -> None:
        events.subscribe(CampaignSaved, _link_campaign)


def _link_campaign(event: CampaignSaved) -> None:
    """A saved campaign claims the stored touches with its UTM values (in its transaction)."""
    from leads.touches import touchpoints_link_campaign  # models are loaded by now

    touchpoints_link_campaign(
        campaign_id=event.campaign_id,
        utm_campaign=event.utm_campaign,
        utm_source=event.utm_source,
        utm_medium=event.utm_medium,
    )
