"""The new lead's owner is emailed after capture, whatever the visitor typed as a name."""

import pytest
from django.core import mail

from leads.models import CaptureForm, Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(name="Demo", min_fill_seconds=0)


def test_a_name_with_a_line_break_still_reaches_the_owner_with_a_clean_subject(
    client, form, rep, celery_eager, django_capture_on_commit_callbacks
):
    rep.email = "rep@example.com"
    rep.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            form.url,
            {"email": "a@x.io", "first_name": "A\r\nBcc: x@y"},
            content_type="application/json",
        )
    assert response.status_code == 201

    assert [m.to for m in mail.outbox] == [["rep@example.com"]]
    message = mail.outbox[0]
    assert message.subject == "New lead: A Bcc: x@y"
    assert message.bcc == []
    assert message.message()["Bcc"] is None
    assert Submission.objects.get().followed_up_at is not None
