from typing import Any

from django.apps import AppConfig
from django.db.models import signals


class InsightsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "insights"
    verbose_name = "Insights (scores, budget advice, alerts)"

    def ready(self) -> None:
        from insights import hooks, privacy

        hooks.connect()
        privacy.connect()
        # A capture asks whether any scoring model exists (insights.selectors.scoring_trained).
        for signal in (signals.post_save, signals.post_delete):
            signal.connect(
                _scoring_changed,
                sender="insights.ScoringModel",
                dispatch_uid=f"insights.scoring.{id(signal)}",
            )


def _scoring_changed(**_: Any) -> None:
    from clm.localcache import version_bump
    from insights.selectors import SCORING_VERSION

    version_bump(SCORING_VERSION)
