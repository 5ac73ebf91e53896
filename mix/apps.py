from django.apps import AppConfig


class MixConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mix"
    verbose_name = "Marketing mix model"
