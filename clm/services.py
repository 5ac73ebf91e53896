"""Writes of the project package: users and their roles."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import transaction

from clm import roles
from clm.models import UserPreference


@transaction.atomic
def user_create(
    *,
    username: str,
    role: str,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> AbstractUser:
    """Create a user in one role; Admins are staff so they can open the Django admin."""
    if role not in roles.ALL_ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(roles.ALL_ROLES)}")
    user = get_user_model()(
        username=username,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=role == roles.ADMIN,
        is_superuser=role == roles.ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    group, created = Group.objects.get_or_create(name=role)
    if created:
        # The role groups come from a migration; a flushed test database may lack them.
        roles.sync_role_permissions()
    user.groups.add(group)
    return user


def job_claim(*, job: str, period_seconds: int, now: float | None = None) -> bool:
    """True for the first caller of `job` in the current period, False for any other.

    Beat jobs call it first, so two beat processes (or a beat restarted mid-period) still run
    each job once per period: the second send finds the claim taken and does nothing.
    Period = floor(now / period_seconds), in UTC seconds.
    """
    import time

    from django.db import IntegrityError

    from clm.models import JobClaim

    at = time.time() if now is None else now
    period = int(at // period_seconds) * period_seconds
    try:
        with transaction.atomic():
            JobClaim.objects.create(job=job[:100], period=period)
    except IntegrityError:
        return False
    return True


def job_claims_prune(*, older_than_days: int = 30) -> int:
    """Forget claims of periods that ended long ago."""
    import time

    from clm.models import JobClaim

    cutoff = int(time.time()) - older_than_days * 24 * 3600
    deleted, _ = JobClaim.objects.filter(period__lt=cutoff).delete()
    return deleted


def user_language_set(*, user: AbstractUser, language: str) -> UserPreference:
    """Remember the UI language a user picked, for every device they sign in on."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"unknown language {language!r}")
    preference, _ = UserPreference.objects.update_or_create(
        user=user, defaults={"language": language}
    )
    return preference


def user_language(*, user: AbstractUser) -> str | None:
    """The language a user picked in their profile, if any."""
    return UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
