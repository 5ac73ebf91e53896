from django.apps import AppConfig

from clm.localcache import bump_on_change


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (API tokens, webhooks, ad-platform conversions)"

    def ready(self) -> None:
        # Registers the bearer-token scheme with drf-spectacular.
        from integrations import (
            auth,  # noqa: F401
            conversions,
            privacy,
            subscribers,
        )
        from integrations.conversions import ACTIONS_VERSION
        from integrations.events import ENDPOINTS_VERSION

        # Webhooks hear the domain events of the lower apps (README, "Architecture").
        subscribers.connect()
        conversions.connect()
        privacy.connect()
        # event_emit keeps the subscribed endpoints per process (integrations.events); capture
        # asks which outcomes have active conversion actions (conversions).
        bump_on_change(ENDPOINTS_VERSION, "integrations.WebhookEndpoint")
        bump_on_change(ACTIONS_VERSION, "integrations.ConversionAction")
