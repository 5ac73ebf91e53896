import pytest
from django.db import IntegrityError
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, Channel, ChannelRule, ReclassifyJob
from campaigns.rules import classify
from campaigns.selectors import campaign_id_for
from campaigns.tests.factories import CampaignFactory
from leads.reclassification import reclassify_run, reclassify_start
from leads.tests.factories import LeadFactory, TouchpointFactory
from leads.touches import lead_refresh_touches
from leads.untracked import campaign_register_untracked, untracked_campaigns

pytestmark = pytest.mark.django_db


def test_the_migration_installs_ga4_channels_in_order_and_the_source_list():
    names = list(Channel.objects.values_list("name", flat=True))
    assert names[:4] == ["Direct", "Cross-network", "Paid Shopping", "Paid Search"]
    assert {"Sales call", "Event", "Offline/Imported", "Unassigned"} <= set(names)
    assert Channel.objects.get(name="Paid Search").is_paid
    assert Channel.objects.get(name="Event").is_offline
    from campaigns.models import SourceCategory

    assert SourceCategory.objects.count() == 819
    assert SourceCategory.objects.get(source="google").category == "SEARCH"


def test_stored_rules_classify_like_ga4():
    assert classify(landing_url="https://x.io/?utm_source=google&utm_medium=cpc").match.channel == (
        "Paid Search"
    )
    assert classify(referrer="https://m.facebook.com/").match.channel == "Organic Social"
    assert classify(landing_url="https://x.io/?gclid=abc").match.channel == "Paid Search"
    assert classify().match.channel == "Direct"


def test_a_saved_rule_takes_effect_at_once_and_a_deleted_one_stops():
    before = classify(utm_source="partnerhub", utm_medium="newsletter-swap")
    assert before.match.channel == "Unassigned"
    rule = services.channel_rule_save(
        rule=ChannelRule(
            position=1,
            name="partner swaps",
            channel=Channel.objects.get(name="Affiliates"),
            conditions=[{"field": "source", "op": "exact", "value": "partnerhub"}],
        )
    )
    after = classify(utm_source="partnerhub", utm_medium="newsletter-swap")
    assert after.match.channel == "Affiliates"
    assert after.match.rule_id == str(rule.pk)
    services.channel_rule_delete(rule=rule)
    assert classify(utm_source="partnerhub", utm_medium="newsletter-swap").match.channel == (
        "Unassigned"
    )


def test_an_invalid_rule_is_refused_with_a_message():
    from django.core.exceptions import ValidationError

    bad = ChannelRule(
        position=5,
        channel=Channel.objects.get(name="Email"),
        conditions=[{"field": "medium", "op": "regex", "value": "(unclosed"}],
    )
    with pytest.raises(ValidationError) as caught:
        services.channel_rule_save(rule=bad)
    assert "conditions" in caught.value.message_dict
    bad.conditions = [{"field": "colour", "op": "exact", "value": "x"}]
    with pytest.raises(ValidationError):
        services.channel_rule_save(rule=bad)


def test_campaign_lookup_prefers_the_most_specific_campaign():
    broad = CampaignFactory(utm_campaign="Spring")
    narrow = CampaignFactory(utm_campaign="spring", utm_source="google", utm_medium="cpc")
    assert broad.utm_campaign == "spring"
    assert campaign_id_for(utm_campaign="SPRING", source="google", medium="cpc") == narrow.pk
    assert campaign_id_for(utm_campaign="spring", source="facebook", medium="cpc") == broad.pk
    assert campaign_id_for(utm_campaign="autumn") is None
    assert campaign_id_for(utm_campaign="") is None


def test_utm_keys_are_unique_case_insensitively():
    CampaignFactory(utm_campaign="spring")
    with pytest.raises(IntegrityError):
        Campaign.objects.create(name="dupe", utm_campaign="SPRING")


def test_untracked_campaigns_are_listed_and_registered_in_one_step():
    lead = LeadFactory()
    first = TouchpointFactory(utm_campaign="black_friday", channel_name="Paid Social", lead=lead)
    lead_refresh_touches(lead=lead)
    for _ in range(2):
        TouchpointFactory(utm_campaign="black_friday", channel_name="Paid Social")
    TouchpointFactory(utm_campaign="black_friday", channel_name="Email")
    listed = untracked_campaigns()
    assert [(u["utm_campaign"], u["touches"]) for u in listed] == [("black_friday", 4)]
    campaign = campaign_register_untracked(utm_campaign="black_friday")
    assert campaign.channel.name == "Paid Social"
    assert campaign.name == "Black Friday"
    assert campaign.touchpoints.count() == 4
    lead.refresh_from_db()
    assert (lead.first_touch, lead.first_campaign) == (first, campaign)
    assert untracked_campaigns() == []
    with pytest.raises(ValueError, match="registered already"):
        campaign_register_untracked(utm_campaign="black_friday")


def test_reclassify_applies_changed_rules_to_history():
    lead = LeadFactory()
    touches = [TouchpointFactory(utm_source="partnerhub", channel_name="Unassigned", lead=lead)]
    lead_refresh_touches(lead=lead)
    touches.append(TouchpointFactory(referrer="https://www.bing.com/", channel_name="Direct"))
    services.channel_rule_save(
        rule=ChannelRule(
            position=1,
            channel=Channel.objects.get(name="Affiliates"),
            conditions=[{"field": "source", "op": "exact", "value": "partnerhub"}],
        )
    )
    job = reclassify_start(confirmation="RECLASSIFY")  # eager Celery: runs on commit
    job = ReclassifyJob.objects.get(pk=job.pk)
    assert job.status == "queued"  # the test transaction has not committed
    reclassify_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.total, job.processed, job.changed) == ("done", 2, 2, 2)
    touches[0].refresh_from_db()
    touches[1].refresh_from_db()
    assert touches[0].channel.name == "Affiliates"
    assert touches[1].channel.name == "Organic Search"
    lead.refresh_from_db()
    assert lead.first_channel.name == "Affiliates"  # leads follow their first touch


def test_reclassify_task_runs_after_commit(django_capture_on_commit_callbacks, celery_eager):
    TouchpointFactory(referrer="https://duckduckgo.com/", channel_name="Direct")
    with django_capture_on_commit_callbacks(execute=True):
        job = reclassify_start(confirmation="RECLASSIFY")
    job.refresh_from_db()
    assert job.status == "done"
    assert job.changed == 1


def test_admin_edits_rules_in_the_admin_and_the_change_applies(client, admin):
    client.force_login(admin)
    affiliates = Channel.objects.get(name="Affiliates")
    response = client.post(
        reverse("admin:campaigns_channelrule_add"),
        {
            "position": 2,
            "name": "partner",
            "channel": affiliates.pk,
            "conditions": '[{"field": "source", "op": "in", "value": ["partnerhub", "pclub"]}]',
            "is_active": "on",
            "note": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert classify(utm_source="pclub").match.channel == "Affiliates"
    response = client.post(
        reverse("admin:campaigns_channelrule_add"),
        {"position": 3, "channel": affiliates.pk, "conditions": "not json", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Enter a valid JSON" in response.content.decode()
