"""Who may do what on the CRM side. Which rows a user sees is decided in crm.selectors."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, AnonymousUser
from django.core.exceptions import PermissionDenied

from clm import roles

# Who acts in a service: a user, or None for the system (e.g. assignment on capture).
Actor = AbstractUser | None
# Who reads through a selector: whoever made the request.
Viewer = AbstractUser | AnonymousUser

# Roles that see every lead; a rep sees only the leads they own (clm.roles decides for both
# the CRM and the capture side).
SEE_ALL = roles.SEE_ALL_LEADS
# Roles that change leads, activities, feedback and deals (within what they see).
CHANGE = (roles.ADMIN, roles.SALES_MANAGER, roles.SALES_REP)
# Roles that reassign leads and delete records.
MANAGE = (roles.ADMIN, roles.SALES_MANAGER)
# Roles that may own leads and deals.
OWNER_ROLES = roles.LEAD_OWNER_ROLES


def sees_all(user: Viewer) -> bool:
    """True when the user sees every lead, not only their own."""
    return roles.has_role(user, *SEE_ALL)


def lead_scope(user: Viewer) -> str:
    """Which leads `user` sees: "all", "own" or "none" (clm.roles.lead_scope)."""
    return roles.lead_scope(user)


def may_change(user: Viewer) -> bool:
    """True when the user may change CRM records (marketers only read)."""
    return roles.has_role(user, *CHANGE)


def may_manage(user: Viewer) -> bool:
    """True when the user may reassign leads and delete CRM records."""
    return roles.has_role(user, *MANAGE)


def ensure_may_change_lead(user: Actor, lead: Any) -> None:
    """Raise PermissionDenied unless `user` (None = the system) may change this lead."""
    if user is None:
        return
    if not may_change(user):
        raise PermissionDenied("Your role may not change leads.")
    if not sees_all(user) and lead.owner_id != user.pk:
        raise PermissionDenied("This lead belongs to someone else.")


def ensure_may_manage(user: Actor) -> None:
    """Raise PermissionDenied unless `user` (None = the system) may reassign and delete."""
    if user is not None and not may_manage(user):
        raise PermissionDenied("Only a sales manager may do this.")
