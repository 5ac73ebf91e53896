from django.apps import AppConfig


class NurtureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "nurture"
    verbose_name = "Segments and nurture"

    def ready(self) -> None:
        from nurture import privacy

        privacy.connect()
