from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "CRM"

    def ready(self) -> None:
        from crm import privacy, rollup_marks, subscribers

        rollup_marks.connect()
        subscribers.connect()
        privacy.connect()
