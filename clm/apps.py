from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ClmConfig(AppConfig):
    name = "clm"
    verbose_name = "CLM"

    def ready(self) -> None:
        from clm.roles import sync_role_permissions

        # Permissions of every app exist only after all migrations ran, so the role groups
        # (created by clm's migration) get their permissions after each migrate.
        post_migrate.connect(sync_role_permissions, dispatch_uid="clm.sync_role_permissions")
