from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.db.models import signals

from clm.localcache import bump_on_change, version_bump


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from crm import privacy, rollup_marks, subscribers
        from crm.services.accounts import FREE_MAIL_VERSION

        rollup_marks.connect()
        subscribers.connect()
        privacy.connect()
        # Round-robin assignment keeps the active reps per process (crm.services.active_reps).
        uid = "crm.sales-reps"
        for sender, signal in (
            (settings.AUTH_USER_MODEL, signals.post_save),
            (settings.AUTH_USER_MODEL, signals.post_delete),
            ("auth.Group", signals.post_save),
            ("auth.Group", signals.post_delete),
        ):
            uid_of = f"{uid}.{sender}.{id(signal)}"
            signal.connect(_reps_changed, sender=sender, dispatch_uid=uid_of)
        signals.m2m_changed.connect(
            _reps_changed, sender=get_user_model().groups.through, dispatch_uid=f"{uid}.groups"
        )
        # Account matching keeps the free-mail list per process (crm.services.free_mail_patterns).
        bump_on_change(FREE_MAIL_VERSION, "crm.FreeMailDomain")


def _reps_changed(**_: Any) -> None:
    from crm.services.lifecycle import SALES_REPS_VERSION

    version_bump(SALES_REPS_VERSION)
