"""The Content-Security-Policy header on every page, and templates that need no inline code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from leads.models import CaptureForm

pytestmark = pytest.mark.django_db

TEMPLATE_DIRS = [Path(settings.BASE_DIR) / "templates"] + [
    p for p in Path(settings.BASE_DIR).glob("*/templates") if ".venv" not in str(p)
]


def policy_of(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


@pytest.mark.parametrize(
    "url", ["/accounts/login/", "/dashboards/marketing/", "/crm/", "/admin/", "/api/docs/"]
)
def test_every_page_forbids_inline_script_eval_plugins_and_framing(client, admin, url):
    client.force_login(admin)
    policy = policy_of(client.get(url))
    assert policy["script-src"].split()[0] == "'self'"
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert "'unsafe-inline'" not in policy["style-src"]
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'none'"


def test_the_nonce_is_fresh_per_response_and_matches_the_nonced_elements(client, admin):
    client.force_login(admin)
    nonces = []
    for _ in range(2):
        response = client.get("/dashboards/marketing/")
        nonce = re.search(r"'nonce-([^']+)'", policy_of(response)["style-src"]).group(1)
        assert f'<style id="plotly.js-style-global" nonce="{nonce}">' in response.content.decode()
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_api_docs_load_their_start_up_code_as_a_script_file(client, admin):
    client.force_login(admin)
    page = client.get("/api/docs/").content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
    assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts)
    init = client.get("/api/docs/?script=")
    assert init.status_code == 200
    assert "SwaggerUIBundle" in init.content.decode()


def test_a_hosted_page_may_post_to_itself_and_redirect_to_its_success_url(client):
    CaptureForm.objects.create(name="W", slug="w", success_url="https://www.example.com/thanks/")
    policy = policy_of(client.get("/l/w/"))
    assert policy["form-action"].split() == ["'self'", "https://www.example.com"]


def test_no_template_has_inline_script_handlers_or_style_attributes():
    offending = []
    for directory in TEMPLATE_DIRS:
        for path in directory.rglob("*.html"):
            text = path.read_text()
            for match in re.finditer(r"<script(?![^>]*\bsrc=)([^>]*)>", text):
                attrs = match.group(1)
                if "application/json" not in attrs and "CSP_NONCE" not in attrs:
                    offending.append(f"{path}: inline <script{attrs}>")
            for match in re.finditer(r"<style(?![^>]*CSP_NONCE)[^>]*>", text):
                offending.append(f"{path}: {match.group(0)}")
            for match in re.finditer(r"\s(on[a-z]+|style)\s*=\s*[\"']", text):
                offending.append(f"{path}: {match.group(1)}=")
    assert offending == []


def test_no_admin_page_renders_inline_styles_handlers_or_scripts(client, admin):
    """Every admin list and add page (and the change page of a capture form) is CSP-clean:
    Python-built markup (widget attrs, format_html) is not covered by the template scan."""
    from django.contrib import admin as django_admin

    client.force_login(admin)
    form = CaptureForm.objects.create(name="F", slug="f")
    urls = [f"/admin/leads/captureform/{form.pk}/change/"]
    for model in django_admin.site._registry:
        meta = model._meta
        urls.append(f"/admin/{meta.app_label}/{meta.model_name}/")
        urls.append(f"/admin/{meta.app_label}/{meta.model_name}/add/")
    offending = []
    for url in urls:
        response = client.get(url)
        if response.status_code == 403:  # e.g. read-only models have no add page
            continue
        assert response.status_code == 200, url
        html = response.content.decode()
        for match in re.finditer(r"\s(on[a-z]+|style)\s*=\s*[\"']", html):
            offending.append(f"{url}: {match.group(1)}=")
        for match in re.finditer(r"<script(?![^>]*\bsrc=)([^>]*)>", html):
            if "application/json" not in match.group(1):
                offending.append(f"{url}: inline <script{match.group(1)}>")
    assert offending == []
