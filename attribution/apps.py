from django.apps import AppConfig

from clm import events
from clm.events import TouchpointsReclassified


class AttributionConfig(AppConfig):
    name = "attribution"
    verbose_name = "Attribution and ROI"

    def ready(self) -> None:
        events.subscribe(TouchpointsReclassified, _mark_older_rules)


def _mark_older_rules(event: TouchpointsReclassified) -> None:
    """Runs made before a reclassification are based on older channel rules."""
    from attribution.services import runs_mark_older_rules  # models are loaded by now

    runs_mark_older_rules(job_id=event.job_id)
