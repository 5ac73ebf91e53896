"""What capture keeps per process (forms, active reps, webhook endpoints) is read again after
any change: the next capture sees it. Cross-app, so it lives at the top level."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clm import roles
from integrations.models import WebhookDelivery, WebhookEndpoint
from leads.models import CaptureForm, Lead

pytestmark = pytest.mark.django_db


def capture(client, form, email):
    return client.post(
        f"/api/v1/capture/{form.key}/",
        json.dumps({"email": email, "visitor_id": "vis_0123456789abcdef"}),
        content_type="application/json",
    )


@pytest.fixture
def form(db):
    return CaptureForm.objects.create(name="Trial", min_fill_seconds=0)


def test_a_deactivated_form_is_refused_by_the_next_capture(client, form):
    assert capture(client, form, "a@x.io").status_code == 201
    form.is_active = False
    form.save()
    assert capture(client, form, "b@x.io").status_code == 404


def test_a_new_owner_of_a_form_gets_the_next_lead(client, form, make_user):
    first, second = make_user(roles.SALES_REP), make_user(roles.SALES_REP)
    form.assignment, form.owner = CaptureForm.Assignment.FIXED_OWNER, first
    form.save()
    capture(client, form, "a@x.io")
    form.owner = second
    form.save()
    capture(client, form, "b@x.io")
    owners = dict(Lead.objects.values_list("email", "owner_id"))
    assert owners == {"a@x.io": first.pk, "b@x.io": second.pk}


def test_round_robin_takes_in_a_new_rep_and_leaves_out_a_deactivated_one(client, form, make_user):
    only = make_user(roles.SALES_REP)
    capture(client, form, "a@x.io")
    only.is_active = False
    only.save()
    newcomer = make_user(roles.SALES_REP)
    capture(client, form, "b@x.io")
    capture(client, form, "c@x.io")
    owners = dict(Lead.objects.values_list("email", "owner_id"))
    assert owners == {"a@x.io": only.pk, "b@x.io": newcomer.pk, "c@x.io": newcomer.pk}


def test_a_new_webhook_endpoint_hears_the_next_capture(client, form):
    capture(client, form, "a@x.io")
    assert WebhookDelivery.objects.count() == 0
    WebhookEndpoint.objects.create(url="https://hooks.example.com/x", events=["lead.created"])
    capture(client, form, "b@x.io")
    assert WebhookDelivery.objects.get().event == "lead.created"


def test_a_new_conversion_action_records_the_next_capture(client, form):
    from integrations.conversions import conversion_action_save
    from integrations.models import Conversion, ConversionAction

    capture(client, form, "a@x.io")
    conversion_action_save(
        action=ConversionAction(outcome="lead_created", platform="google", conversion_name="Lead")
    )
    capture(client, form, "b@x.io")
    assert list(Conversion.objects.values_list("lead__email", flat=True)) == ["b@x.io"]


def test_a_new_free_mail_domain_keeps_the_next_capture_out_of_accounts(client, form):
    from crm.models import AccountContact, FreeMailDomain

    capture(client, form, "a@freshmail.example")
    assert AccountContact.objects.get().account.name == "freshmail.example"
    FreeMailDomain.objects.create(pattern="postbox.example")
    capture(client, form, "b@postbox.example")
    assert not AccountContact.objects.filter(lead__email="b@postbox.example").exists()
    FreeMailDomain.objects.filter(pattern="postbox.example").delete()
    capture(client, form, "c@postbox.example")
    assert AccountContact.objects.get(lead__email="c@postbox.example").account.name == (
        "postbox.example"
    )


def test_a_capture_reads_no_form_rep_or_endpoint_it_already_knows(client, form, make_user):
    make_user(roles.SALES_REP)
    capture(client, form, "a@x.io")
    with CaptureQueriesContext(connection) as queries:
        assert capture(client, form, "b@x.io").status_code == 201
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    for table in (
        "leads_captureform",
        "auth_user",
        "integrations_webhookendpoint",
        "integrations_conversionaction",
        "crm_freemaildomain",
        # A new lead has no account link, no "taken out by hand" mark and no deal yet.
        "crm_accountcontact",
        "crm_accountunplaced",
    ):
        assert f'FROM "{table}"' not in tables
    assert 'UPDATE "crm_deal"' not in tables
    assert 'INSERT INTO "crm_accountcontact"' in tables  # x.io: matched all the same
