"""Hosted landing pages and the form's embed snippet in the admin."""

import pytest

from leads.models import CaptureForm, Lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def form():
    return CaptureForm.objects.create(
        name="Webinar",
        slug="webinar",
        headline="Join the <b>webinar</b>",
        consent_text="Email me the recording.",
        custom_fields=[{"name": "role", "type": "choice", "choices": ["CMO", "Analyst"]}],
    )


def test_a_hosted_page_renders_the_form_posting_to_the_capture_api(client, form):
    page = client.get("/l/webinar/").content.decode()
    assert f'data-clm-form="{form.key}"' in page
    assert f'action="/api/v1/capture/{form.key}/"' in page
    assert 'name="website"' in page  # the honeypot, hidden from people
    assert "Email me the recording." in page
    assert "<option>Analyst</option>" in page
    assert "Join the &lt;b&gt;webinar&lt;/b&gt;" in page  # admin text is escaped too
    assert "clm/track.js" in page


def test_without_javascript_the_hosted_form_still_captures_the_lead(client, form):
    response = client.post(form.url, {"email": "nojs@example.org", "role": "CMO"})
    assert response.status_code == 303
    assert client.get(response["Location"]).status_code == 200
    assert Lead.objects.get().custom == {"role": "CMO"}


def test_inactive_or_unknown_pages_are_404(client, form):
    form.is_active = False
    form.save()
    assert client.get("/l/webinar/").status_code == 404
    assert client.get("/l/nothing-here/").status_code == 404


def test_the_admin_shows_a_copy_paste_embed_snippet(client, admin, form):
    client.force_login(admin)
    page = client.get(f"/admin/leads/captureform/{form.pk}/change/").content.decode()
    assert f"data-clm-form=&quot;{form.key}&quot;" in page
    assert "/static/clm/track.js" in page
    assert f"/api/v1/capture/{form.key}/" in page
