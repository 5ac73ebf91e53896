"""Events the campaigns app announces; higher apps subscribe in AppConfig.ready."""

from django.dispatch import Signal

# Sent after commit when a reclassification (or its undo) changed stored touchpoints:
# kwargs job_id. Attribution marks the runs made before as based on older channel rules.
touchpoints_reclassified = Signal()
