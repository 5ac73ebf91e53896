from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClmConfig(AppConfig):
    name = "clm"
    verbose_name = "CLM"

    def ready(self) -> None:
        from clm.logmask import install_record_factory
        from clm.roles import sync_role_permissions

        # No email address, token or password reaches a log line, whoever logs it.
        install_record_factory()

        # Permissions of every app exist only after all migrations ran, so the role groups
        # (created by clm's migration) get their permissions after each migrate.
        post_migrate.connect(sync_role_permissions, dispatch_uid="clm.sync_role_permissions")
