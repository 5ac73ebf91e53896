from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class ClmConfig(AppConfig):
    name = "clm"
    verbose_name = "CLM"

    def ready(self) -> None:
        from clm.logmask import install_record_factory
        from clm.middleware import remember_profile_language
        from clm.roles import sync_role_permissions

        # No email address, token or password reaches a log line, whoever logs it.
        install_record_factory()

        # Permissions of every app exist only after all migrations ran, so the role groups
        # (created by clm's migration) get their permissions after each migrate.
        post_migrate.connect(sync_role_permissions, dispatch_uid="clm.sync_role_permissions")
        # A signal because auth's login view is Django's own: the session gets the user's
        # profile language as they sign in, on any device.
        user_logged_in.connect(remember_profile_language, dispatch_uid="clm.profile_language")
