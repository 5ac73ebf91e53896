"""Self-reported attribution: "How did you hear about us?" on capture forms."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from leads import privacy, services
from leads.erasure import person_erase
from leads.models import CaptureForm, Lead, Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(
        name="Demo request",
        slug="demo",
        min_fill_seconds=0,
        ask_heard_about=True,
        heard_about_options=[
            {"key": "podcast", "label": "A podcast"},
            {"key": "friend", "label": "A friend"},
        ],
    )


def post(client, form, **data):
    return client.post(form.url, json.dumps(data), content_type="application/json")


def test_an_option_is_stored_on_the_submission_and_the_new_lead(client, form):
    assert post(client, form, email="a@x.io", heard_about="podcast").status_code == 201
    lead = Lead.objects.get()
    assert (lead.heard_about, lead.heard_about_other) == ("podcast", "")
    assert Submission.objects.get().heard_about == "podcast"


def test_free_text_alone_means_other_and_is_kept_with_whitespace_collapsed(client, form):
    assert (
        post(client, form, email="a@x.io", heard_about_other="  Slack   group ").status_code == 201
    )
    lead = Lead.objects.get()
    assert (lead.heard_about, lead.heard_about_other) == ("other", "Slack group")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"heard_about": "billboard"}, "heard_about"),
        ({"heard_about": "<script>"}, "heard_about"),
        ({"heard_about": "other", "heard_about_other": "x" * 201}, "heard_about_other"),
        ({"heard_about": "other", "heard_about_other": "a\x07b"}, "heard_about_other"),
        ({"heard_about": ["podcast"]}, "heard_about"),
    ],
)
def test_hostile_answers_get_a_400_field_error_and_store_no_lead(client, form, data, field):
    response = post(client, form, email="a@x.io", **data)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Lead.objects.exists()


def test_a_form_that_does_not_ask_ignores_the_fields(client, form):
    form.ask_heard_about = False
    form.save()
    assert post(client, form, email="a@x.io", heard_about="billboard").status_code == 201
    assert Lead.objects.get().heard_about == ""


def test_the_first_answer_stays_when_the_person_posts_again(client, form):
    post(client, form, email="a@x.io", heard_about="podcast")
    post(client, form, email="a@x.io", heard_about="friend")
    assert Lead.objects.get().heard_about == "podcast"
    # The later submission keeps what it said.
    assert list(Submission.objects.order_by("pk").values_list("heard_about", flat=True)) == [
        "podcast",
        "friend",
    ]


def test_a_returning_lead_without_an_answer_gets_the_first_one_given(client, form):
    post(client, form, email="a@x.io")
    post(client, form, email="a@x.io", heard_about="friend")
    assert Lead.objects.get().heard_about == "friend"


def test_what_sales_set_is_never_overwritten_by_a_post_even_when_cleared(client, form):
    post(client, form, email="a@x.io", heard_about="podcast")
    lead = Lead.objects.get()
    services.lead_heard_about_set(lead=lead, heard_about="")
    post(client, form, email="a@x.io", heard_about="friend")
    lead.refresh_from_db()
    assert (lead.heard_about, lead.heard_about_edited_at is not None) == ("", True)


def test_sales_may_only_set_an_option_of_the_form_or_other(form):
    lead = Lead.objects.create(email="a@x.io", form=form, created_at=timezone.now())
    with pytest.raises(ValidationError):
        services.lead_heard_about_set(lead=lead, heard_about="search")  # not this form's
    services.lead_heard_about_set(lead=lead, heard_about="other", other=" Word  of mouth ")
    lead.refresh_from_db()
    assert (lead.heard_about, lead.heard_about_other) == ("other", "Word of mouth")


def test_a_form_refuses_a_malformed_option_list(form):
    form.heard_about_options = [{"key": "other", "label": "x"}, {"key": "A B"}]
    with pytest.raises(ValidationError) as raised:
        form.full_clean()
    assert "heard_about_options" in raised.value.message_dict


def test_the_hosted_page_asks_with_the_forms_options(client, form):
    page = client.get("/l/demo/").content.decode()
    assert 'name="heard_about"' in page
    assert '<option value="podcast">A podcast</option>' in page
    assert 'name="heard_about_other"' in page


def test_the_export_includes_the_answer_and_erasure_removes_the_free_text(client, form):
    post(client, form, email="a@x.io", heard_about_other="My cousin Bob")
    export = privacy.person_export(email="a@x.io")
    assert export["lead"]["heard_about_other"] == "My cousin Bob"
    assert export["submissions"][0]["heard_about_other"] == "My cousin Bob"
    person_erase(email="a@x.io")
    lead = Lead.objects.get()
    assert (lead.heard_about, lead.heard_about_other) == ("other", "")
    assert Submission.objects.get().heard_about_other == ""


def test_an_answer_changed_in_the_admin_moves_the_newest_change(rf, admin):
    """The dashboards' cached self-reported figures key on heard_about_changed_at."""
    from django.contrib.admin import site
    from django.forms.models import model_to_dict

    lead = Lead.objects.create(email="a@x.io", created_at=timezone.now(), heard_about="podcast")
    model_admin = site._registry[Lead]
    request = rf.post("/")
    request.user = admin
    form_class = model_admin.get_form(request, lead, change=True)
    data = {
        k: v
        for k, v in model_to_dict(lead).items()
        if v is not None and k in form_class.base_fields
    }
    data.update(custom="{}", heard_about="friend")
    bound = form_class(data, instance=lead)
    assert bound.is_valid(), bound.errors
    model_admin.save_model(request, bound.save(commit=False), bound, change=True)
    lead.refresh_from_db()
    assert lead.heard_about == "friend" and lead.heard_about_changed_at is not None
    before = lead.heard_about_changed_at
    data["heard_about"] = "friend"
    data["first_name"] = "Ann"  # another field: the newest change stays
    bound = form_class(data, instance=lead)
    assert bound.is_valid(), bound.errors
    model_admin.save_model(request, bound.save(commit=False), bound, change=True)
    lead.refresh_from_db()
    assert (lead.first_name, lead.heard_about_changed_at) == ("Ann", before)
