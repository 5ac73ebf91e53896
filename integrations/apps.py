from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (API tokens, webhooks)"

    def ready(self) -> None:
        # Registers the bearer-token scheme with drf-spectacular.
        from integrations import (
            auth,  # noqa: F401
            privacy,
            subscribers,
        )

        # Webhooks hear the domain events of the lower apps (README, "Architecture").
        subscribers.connect()
        privacy.connect()
