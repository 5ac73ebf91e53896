"""Personal API tokens through the tokens page and the API, as an integrator meets them."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from integrations.models import ApiToken
from integrations.services import token_create, token_hash
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def bearer(raw: str, keyword: str = "Bearer") -> Client:
    return Client(HTTP_AUTHORIZATION=f"{keyword} {raw}")


def test_the_tokens_page_shows_a_new_token_once_and_stores_only_its_hash(client, rep):
    client.force_login(rep)
    created = client.post("/accounts/tokens/", {"name": "Zapier"})
    assert created.status_code == 200
    raw = created.context["created"].raw
    assert raw.startswith("clm_") and raw in created.content.decode()
    token = ApiToken.objects.get(user=rep)
    assert token.key_hash == token_hash(raw) and raw not in (token.key_hash, token.prefix)
    assert token.prefix == raw[:12]
    again = client.get("/accounts/tokens/").content.decode()
    assert raw not in again and token.prefix in again
    assert bearer(raw).get("/api/v1/leads/").status_code == 200
    assert "API tokens" in client.get("/crm/").content.decode()  # linked from every page


def test_a_token_acts_as_its_user_with_bearer_or_token_keyword(rep):
    raw = token_create(user=rep, name="t").raw
    for keyword in ("Bearer", "Token"):
        assert bearer(raw, keyword).get("/api/v1/leads/").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_revoked_expired_and_unknown_tokens_are_401(client, rep):
    new = token_create(user=rep, name="t")
    client.force_login(rep)
    assert client.post(f"/accounts/tokens/{new.token.pk}/revoke/").status_code == 302
    revoked = bearer(new.raw).get("/api/v1/leads/")
    assert revoked.status_code == 401
    assert revoked.json()["code"] == "authentication_failed"
    assert revoked["WWW-Authenticate"].startswith("Bearer")

    expiring = token_create(user=rep, name="e", expires_at=timezone.now() + timedelta(hours=1))
    ApiToken.objects.filter(pk=expiring.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert bearer(expiring.raw).get("/api/v1/leads/").status_code == 401
    assert bearer("clm_not-a-real-token").get("/api/v1/leads/").status_code == 401
    assert Client().get("/api/v1/leads/").status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(client, rep, other_rep):
    theirs = token_create(user=other_rep, name="theirs")
    client.force_login(rep)
    assert client.post(f"/accounts/tokens/{theirs.token.pk}/revoke/").status_code == 404
    assert bearer(theirs.raw).get("/api/v1/leads/").status_code == 200


def test_a_rep_token_sees_only_the_reps_own_leads(rep, other_rep):
    mine = LeadFactory(owner=rep)
    theirs = LeadFactory(owner=other_rep)
    api = bearer(token_create(user=rep, name="t").raw)
    ids = [row["id"] for row in api.get("/api/v1/leads/").json()["results"]]
    assert ids == [mine.pk]
    assert api.get(f"/api/v1/leads/{theirs.pk}/").status_code == 404
    assert api.get("/api/v1/reports/roi/").status_code == 403


def test_a_read_only_token_may_not_write(rep):
    lead = LeadFactory(owner=rep)
    api = bearer(token_create(user=rep, name="ro", read_only=True).raw)
    assert api.get(f"/api/v1/leads/{lead.pk}/").status_code == 200
    refused = api.patch(
        f"/api/v1/leads/{lead.pk}/", {"stage": "contacted"}, content_type="application/json"
    )
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    lead.refresh_from_db()
    assert lead.stage == "new"


def test_each_token_is_throttled_with_retry_after(settings, rep):
    settings.CLM_API_RATE = "3/min"
    first, second = token_create(user=rep, name="a").raw, token_create(user=rep, name="b").raw
    answers = [bearer(first).get("/api/v1/channels/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    throttled = bearer(first).get("/api/v1/channels/")
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) > 0
    assert bearer(second).get("/api/v1/channels/").status_code == 200  # per token


def test_token_names_are_required_on_the_page(client, rep):
    client.force_login(rep)
    assert client.post("/accounts/tokens/", {"name": ""}).status_code == 400
    assert not ApiToken.objects.exists()
