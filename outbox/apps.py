from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "outbox"
    verbose_name = "Outbox and dead letters"

    def ready(self) -> None:
        from celery.signals import task_failure, task_success

        from outbox.services import dead_letter_from_task_failure, outbox_mark_done

        # A signal, not a call in every task: any task that finally fails (retries spent, or an
        # error it does not retry) lands in the dead-letter table, whichever app defined it.
        task_failure.connect(dead_letter_from_task_failure, dispatch_uid="outbox.dead_letters")
        # The success of a task sent through the outbox settles its message (no redelivery).
        task_success.connect(outbox_mark_done, dispatch_uid="outbox.done")
