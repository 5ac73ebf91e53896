"""The root URLconf (settings.ROOT_URLCONF): it mounts every app's pages, so it sits in the top
layer with the pages that compose several apps (README, "Architecture")."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from attribution import urls as attribution_urls
from campaigns import urls as campaign_urls
from campaigns import views as campaign_views
from clm import views
from clm.auth import ThrottledAdminAuthenticationForm, ThrottledLoginView
from crm import urls as crm_urls
from dashboards import campaigns as campaign_pages
from dashboards import explain, marketing, rules, sales
from leads.views import privacy_page, spam_list, spam_release

admin.site.site_header = "CLM administration"
admin.site.site_title = "CLM admin"
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("setup/", views.setup, name="setup"),
    path("setup/privacy/", privacy_page, name="privacy"),
    path("setup/spam/", spam_list, name="spam"),
    path("setup/spam/<int:pk>/not-spam/", spam_release, name="spam-release"),
    path("setup/conversions/", include("integrations.conversion_urls")),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path(
        "accounts/login/",
        ThrottledLoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("accounts/tokens/", include("integrations.urls")),
    path("admin/", admin.site.urls),
    path(
        "campaigns/",
        include(
            (
                campaign_pages.campaigns_urlpatterns
                + campaign_urls.urlpatterns
                + rules.campaigns_urlpatterns,
                campaign_urls.app_name,
            )
        ),
    ),
    path("crm/", include((crm_urls.urlpatterns + sales.crm_urlpatterns, crm_urls.app_name))),
    path(
        "dashboards/",
        include(
            (
                attribution_urls.urlpatterns
                + marketing.attribution_urlpatterns
                + explain.attribution_urlpatterns,
                attribution_urls.app_name,
            )
        ),
    ),
    path("insights/", include("insights.urls")),
    path("mix/", include("mix.urls")),
    path("api/v1/", include("dashboards.api_urls")),
    path("l/", include("leads.urls")),
    path("nurture/", include("nurture.urls")),
    path("n/", include("nurture.public_urls")),
    path("go/<str:code>/", campaign_views.short_link, name="short-link"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up code as a script file (?script), so the page
    # needs no inline script under the CSP; its one inline <style> carries the nonce.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="clm/swagger_ui.html"
        ),
        name="api-docs",
    ),
]
