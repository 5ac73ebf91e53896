"""CLM project package: settings, Celery app, URLs, roles and shared helpers."""

from .celery import app as celery_app

__all__ = ("celery_app",)
