"""The four roles of CLM (Django groups), what each may open, and the helpers views use.

Admin: campaigns, forms, channel rules, users. Marketer: dashboards, campaigns, spend, all
leads read-only. Sales manager: all leads and deals of the team. Sales rep: own leads and deals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

ADMIN = "Admin"
MARKETER = "Marketer"
SALES_MANAGER = "Sales manager"
SALES_REP = "Sales rep"
ALL_ROLES = (ADMIN, MARKETER, SALES_MANAGER, SALES_REP)
# Group names stay English in the database; templates translate them for display.
ROLE_LABELS = (gettext_noop("Admin"), gettext_noop("Marketer"), gettext_noop("Sales manager"),
               gettext_noop("Sales rep"))  # fmt: skip
ANY_ROLE = ALL_ROLES

# Model permissions per role, as (app_label, model or "*", actions). Object-level limits
# (a rep sees only their own leads) are enforced in selectors, on top of these.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    ADMIN: [
        (app, "*", ("view", "add", "change", "delete"))
        for app in (
            "clm",
            "campaigns",
            "leads",
            "crm",
            "attribution",
            "nurture",
            "insights",
            "mix",
            "outbox",
            "auth",
        )
    ],
    MARKETER: [
        ("campaigns", "*", ("view",)),
        ("campaigns", "campaign", ("add", "change")),
        ("campaigns", "spend", ("add", "change", "delete")),
        ("leads", "*", ("view",)),
        ("crm", "*", ("view",)),
        ("attribution", "*", ("view",)),
        ("attribution", "attributionrun", ("add",)),
        ("campaigns", "trackedlink", ("add",)),
        ("nurture", "*", ("view", "add", "change", "delete")),
        ("insights", "*", ("view",)),
        ("mix", "*", ("view",)),
        ("mix", "mixmodelrun", ("add",)),
        ("mix", "lifttest", ("add", "change", "delete")),
        ("mix", "control", ("add", "change", "delete")),
    ],
    SALES_MANAGER: [
        ("campaigns", "*", ("view",)),
        ("leads", "*", ("view",)),
        ("leads", "lead", ("change",)),
        ("crm", "*", ("view", "add", "change", "delete")),
        ("attribution", "*", ("view",)),
        ("mix", "*", ("view",)),
    ],
    SALES_REP: [
        ("campaigns", "campaign", ("view",)),
        ("campaigns", "channel", ("view",)),
        ("leads", "*", ("view",)),
        ("leads", "lead", ("change",)),
        ("crm", "*", ("view", "add", "change")),
    ],
}


def user_roles(user: Any) -> frozenset[str]:
    """The roles of a user; a superuser holds the Admin role. Cached on the user object."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, "_clm_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMIN)
        cached = frozenset(names)
        user._clm_roles = cached
    return cached


def has_role(user: Any, *roles: str) -> bool:
    """True when the user holds at least one of `roles`."""
    return bool(user_roles(user) & set(roles))


# Who sees which leads, and who may own them: decided here, on the ground, so both the CRM
# (crm.permissions, crm.selectors) and the capture side's API (leads.selectors) read one rule.
# Roles that see every lead; a rep sees only the leads they own.
SEE_ALL_LEADS = (ADMIN, SALES_MANAGER, MARKETER)
# Roles that may own leads and deals.
LEAD_OWNER_ROLES = (SALES_REP, SALES_MANAGER)


def lead_scope(user: Any) -> str:
    """Which leads `user` sees: "all" (admins, managers, marketers), "own" (a rep: the leads
    they own) or "none" (anyone else, anonymous included)."""
    if not getattr(user, "is_authenticated", False):
        return "none"
    if has_role(user, *SEE_ALL_LEADS):
        return "all"
    return "own" if has_role(user, SALES_REP) else "none"


def lead_owners() -> Any:
    """Active sales reps and managers: who a lead or a deal may be given to (a QuerySet)."""
    User = get_user_model()
    ids = User.objects.filter(is_active=True, groups__name__in=LEAD_OWNER_ROLES).values("pk")
    return User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "username")


def role_required(*roles: str) -> Callable:
    """View decorator: anonymous users go to the login page, users without the role get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied(_("Your role may not open this page."))
            return view(request, *args, **kwargs)

        wrapped.clm_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorator


# The navigation: (label, url name, roles that may open it). Pages register here once.
# The API docs and tokens sit in the user box (base.html): tools for integrators, not daily pages.
NAVIGATION: list[tuple[Any, str, tuple[str, ...]]] = [
    (_("Marketing"), "attribution:marketing-dashboard", (ADMIN, MARKETER, SALES_MANAGER)),
    (_("Sales"), "crm:sales-dashboard", (ADMIN, MARKETER, SALES_MANAGER)),
    (_("Leads"), "crm:queue", ANY_ROLE),
    (_("Accounts"), "crm:accounts", ANY_ROLE),
    (_("My day"), "crm:my-day", (ADMIN, SALES_MANAGER, SALES_REP)),
    (_("Mix model"), "mix:page", (ADMIN, MARKETER, SALES_MANAGER)),
    (_("Campaigns"), "campaigns:list", (ADMIN, MARKETER)),
    (_("Segments"), "nurture:segments", (ADMIN, MARKETER)),
    (_("Nurture"), "nurture:sequences", (ADMIN, MARKETER)),
    (_("Alerts"), "insights:alerts", ANY_ROLE),
    (_("Scoring"), "insights:scoring", (ADMIN,)),
    (_("Setup"), "setup", (ADMIN,)),
]

# Counts shown beside a navigation entry (e.g. follow-ups due), by url name: apps register a
# function of the user in AppConfig.ready, so clm needs no import of them. 0 shows nothing.
NAV_BADGES: dict[str, Callable[[Any], int]] = {}


def register_nav_badge(url_name: str, count: Callable[[Any], int]) -> None:
    """Show `count(user)` beside the navigation entry `url_name` when it is above 0."""
    NAV_BADGES[url_name] = count


# Where each role lands after login, in order of precedence.
LANDING = [
    (ADMIN, "attribution:marketing-dashboard"),
    (MARKETER, "attribution:marketing-dashboard"),
    (SALES_MANAGER, "crm:sales-dashboard"),
    (SALES_REP, "crm:queue"),
]


def landing_url(user: Any) -> str | None:
    """The first page a user's role opens on, or None for a user without a role."""
    roles = user_roles(user)
    for role, url_name in LANDING:
        if role in roles:
            return reverse(url_name)
    return None


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Template context processor: the navigation entries the current user may open."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": frozenset()}
    roles = user_roles(user)
    items = []
    for label, url_name, allowed in NAVIGATION:
        if roles & set(allowed):
            try:
                url = reverse(url_name)
            except NoReverseMatch:
                continue
            badge = NAV_BADGES[url_name](user) if url_name in NAV_BADGES else 0
            items.append(
                {"label": label, "url": url, "name": url_name, "active": False, "badge": badge}
            )
    # One entry is active: the longest URL the path is under (/crm/dashboard/ is Sales, not
    # Leads at /crm/).
    matching = [i for i in items if request.path.startswith(i["url"])]
    if matching:
        max(matching, key=lambda i: len(i["url"]))["active"] = True
    return {"nav_items": items, "user_roles": roles, "currency": _currency()}


def _currency() -> str:
    from django.conf import settings

    return settings.CLM_CURRENCY


def sync_role_permissions(sender: Any = None, **kwargs: Any) -> None:
    """Give each role group exactly the permissions ROLE_PERMISSIONS lists (idempotent)."""
    from django.contrib.auth.models import Group, Permission

    using = kwargs.get("using", "default")
    all_perms = list(Permission.objects.using(using).select_related("content_type"))
    for role, rules in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = [p for p in all_perms if _matches(p, rules)]
        group.permissions.set(wanted)


def _matches(perm: Any, rules: Iterable[tuple[str, str, tuple[str, ...]]]) -> bool:
    action = perm.codename.split("_", 1)[0]
    for app_label, model, actions in rules:
        if perm.content_type.app_label != app_label:
            continue
        if model not in ("*", perm.content_type.model):
            continue
        if action in actions:
            return True
    return False
