from typing import Any

from django.apps import AppConfig
from django.db.models import signals

from clm.localcache import version_bump


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
        # event_emit keeps the subscribed endpoints per process (integrations.events).
        for signal in (signals.post_save, signals.post_delete):
            signal.connect(
                _endpoints_changed,
                sender="integrations.WebhookEndpoint",
                dispatch_uid=f"integrations.endpoints.{id(signal)}",
            )
            # Capture asks which outcomes have active conversion actions (conversions).
            signal.connect(
                _actions_changed,
                sender="integrations.ConversionAction",
                dispatch_uid=f"integrations.conversion-actions.{id(signal)}",
            )


def _endpoints_changed(**_: Any) -> None:
    from integrations.events import ENDPOINTS_VERSION

    version_bump(ENDPOINTS_VERSION)


def _actions_changed(**_: Any) -> None:
    from integrations.conversions import ACTIONS_VERSION

    version_bump(ACTIONS_VERSION)
