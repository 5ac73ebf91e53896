from django.apps import AppConfig


class AttributionConfig(AppConfig):
    name = "attribution"
    verbose_name = "Attribution and ROI"

    def ready(self) -> None:
        from campaigns.signals import touchpoints_reclassified

        touchpoints_reclassified.connect(_mark_older_rules, dispatch_uid="attribution-older-rules")


def _mark_older_rules(sender: object, *, job_id: int, **kwargs: object) -> None:
    from attribution.services import runs_mark_older_rules

    runs_mark_older_rules(job_id=job_id)
