from django.apps import AppConfig


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

        # Webhooks hear the domain events of the lower apps (README, "Architecture").
        subscribers.connect()
        conversions.connect()
        privacy.connect()
