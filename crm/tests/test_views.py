from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Channel
from campaigns.tests.factories import CampaignFactory
from crm.models import Activity, Deal, LeadFeedback, QualityReason
from crm.tests.factories import ActivityFactory, DealFactory, lead_with_journey, stage
from leads.models import Lead
from leads.tests.factories import LeadFactory, TouchpointFactory

pytestmark = pytest.mark.django_db


def lead_url(lead):
    return reverse("crm:lead", args=[lead.pk])


def queue(client, **params):
    response = client.get(reverse("crm:queue"), params)
    assert response.status_code == 200
    return response


def names(response):
    return [lead.email for lead in response.context["leads"]]


# --- Work queue --------------------------------------------------------------------------------


def test_a_rep_sees_only_their_own_leads_in_the_queue(client, rep, other_rep):
    mine = LeadFactory(owner=rep, email="mine@x.io")
    LeadFactory(owner=other_rep, email="theirs@x.io")
    LeadFactory(owner=None, email="nobody@x.io")
    client.force_login(rep)
    response = queue(client)
    assert names(response) == [mine.email]
    page = response.content.decode()
    assert "theirs@x.io" not in page
    assert 'name="owner"' not in page  # no owner filter for reps


@pytest.mark.parametrize("role", ["manager", "marketer", "admin"])
def test_managers_marketers_and_admins_see_all_leads_and_filter_by_owner(
    client, request, rep, other_rep, role
):
    LeadFactory(owner=rep, email="a@x.io")
    LeadFactory(owner=other_rep, email="b@x.io")
    LeadFactory(owner=None, email="c@x.io")
    client.force_login(request.getfixturevalue(role))
    assert sorted(names(queue(client))) == ["a@x.io", "b@x.io", "c@x.io"]
    assert names(queue(client, owner=other_rep.pk)) == ["b@x.io"]
    assert names(queue(client, owner="none")) == ["c@x.io"]


def test_queue_is_newest_first_or_oldest_untouched_first(client, rep):
    now = timezone.now()
    old_untouched = LeadFactory(owner=rep, email="old@x.io", created_at=now - timedelta(days=9))
    new_untouched = LeadFactory(owner=rep, email="new@x.io", created_at=now - timedelta(hours=1))
    touched_long_ago = LeadFactory(
        owner=rep, email="stale@x.io", created_at=now - timedelta(days=20),
        last_contacted_at=now - timedelta(days=8),
    )  # fmt: skip
    touched_today = LeadFactory(
        owner=rep, email="fresh@x.io", created_at=now - timedelta(days=30), last_contacted_at=now
    )
    client.force_login(rep)
    assert names(queue(client)) == [
        new_untouched.email, old_untouched.email, touched_long_ago.email, touched_today.email
    ]  # fmt: skip
    assert names(queue(client, order="untouched")) == [
        old_untouched.email, new_untouched.email, touched_long_ago.email, touched_today.email
    ]  # fmt: skip


def test_queue_filters_by_stage_first_touch_channel_campaign_age_and_search(client, manager):
    spring = CampaignFactory(name="Spring")
    paid = lead_with_journey(
        email="paid@x.io", company="Acme Robotics",
        touches=[{"channel_name": "Paid Search", "campaign": spring}, {"channel_name": "Email"}],
    )  # fmt: skip
    lead_with_journey(
        email="organic@x.io", first_name="Grace", last_name="Hopper",
        touches=[{"channel_name": "Organic Search"}],
        created_at=timezone.now() - timedelta(days=45),
    )  # fmt: skip
    LeadFactory(email="won@x.io", stage=Lead.Stage.CUSTOMER)
    client.force_login(manager)
    assert "won@x.io" not in names(queue(client))  # open leads by default
    assert names(queue(client, stage="customer")) == ["won@x.io"]
    assert len(names(queue(client, stage="all"))) == 3
    paid_search = Channel.objects.get(name="Paid Search")
    assert names(queue(client, channel=paid_search.pk)) == [paid.email]
    assert names(queue(client, channel=Channel.objects.get(name="Email").pk)) == []
    assert names(queue(client, campaign=spring.pk)) == [paid.email]
    assert names(queue(client, age="older")) == ["organic@x.io"]
    assert names(queue(client, age="week")) == [paid.email]
    assert names(queue(client, q="grace hop")) == ["organic@x.io"]
    assert names(queue(client, q="acme")) == [paid.email]
    assert names(queue(client, q="PAID@X")) == [paid.email]
    assert names(queue(client, stage="bogus", channel="x", age="??")) == names(queue(client))


def test_queue_rows_show_time_since_capture_and_since_last_contact(client, rep):
    LeadFactory(
        owner=rep, created_at=timezone.now() - timedelta(days=3),
        last_contacted_at=timezone.now() - timedelta(hours=5),
    )  # fmt: skip
    LeadFactory(owner=rep, created_at=timezone.now() - timedelta(minutes=20))
    client.force_login(rep)
    page = queue(client).content.decode()
    assert ">3d<" in page and ">5h<" in page
    assert ">20m<" in page and ">Never<" in page


def test_queue_is_paginated_keeping_the_filters(client, rep):
    for _ in range(55):
        LeadFactory(owner=rep, company="Acme")
    client.force_login(rep)
    first = queue(client, q="acme")
    assert len(first.context["leads"]) == 50
    assert "q=acme&amp;page=2" in first.content.decode()
    second = queue(client, q="acme", page=2)
    assert len(second.context["leads"]) == 5
    assert queue(client, page=99).context["page"].number == 2


@pytest.mark.parametrize("rows", [3, 30])
def test_queue_runs_a_fixed_number_of_queries_whatever_the_rows(
    client, manager, rep, django_assert_num_queries, rows
):
    campaign = CampaignFactory()
    for n in range(rows):
        lead = lead_with_journey(
            owner=rep, touches=[{"channel_name": "Paid Search", "campaign": campaign}]
        )
        if n % 2:
            LeadFeedback.objects.create(lead=lead, rating="good", by=rep)
    client.force_login(manager)
    # session, user, roles, count, page of leads, channels, campaigns, owners, saved views,
    # follow-ups due (the nav badge), sequences to enrol in (managers); open alerts in the nav
    with django_assert_num_queries(12):
        response = client.get(reverse("crm:queue"))
    assert len(response.context["leads"]) == rows


def test_manager_bulk_assigns_ticked_leads_and_returns_to_the_filtered_queue(
    client, manager, rep, other_rep
):
    leads = [LeadFactory(owner=rep) for _ in range(3)]
    client.force_login(manager)
    response = client.post(
        reverse("crm:bulk-assign"),
        {"leads": [leads[0].pk, leads[1].pk], "owner": other_rep.pk, "next": "/crm/?stage=new"},
    )
    assert response.status_code == 302 and response.url == "/crm/?stage=new"
    owners = [Lead.objects.get(pk=lead.pk).owner for lead in leads]
    assert owners == [other_rep, other_rep, rep]
    page = client.get(response.url).content.decode()
    assert "2 leads assigned to" in page


def test_bulk_assign_refuses_a_foreign_next_url_and_reports_no_selection(client, manager):
    client.force_login(manager)
    response = client.post(reverse("crm:bulk-assign"), {"next": "https://evil.example/"})
    assert response.url == reverse("crm:queue")
    assert "Tick the leads to assign" in client.get(response.url).content.decode()


# --- Lead page -----------------------------------------------------------------------------


def test_lead_page_shows_contact_data_and_the_whole_journey_in_order(client, rep):
    spring = CampaignFactory(name="Spring Sale")
    now = timezone.now()
    lead = lead_with_journey(
        owner=rep, email="ada@x.io", phone="+44 20 1234", company="Analytical Engines",
        touches=[
            {"channel_name": "Paid Search", "campaign": spring,
             "occurred_at": now - timedelta(days=3),
             "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "spring_sale",
             "url": "https://www.example.com/pricing?utm_source=google", "title": "Pricing"},
            {"channel_name": "Referral", "occurred_at": now - timedelta(days=2),
             "referrer": "https://news.example.org/story"},
            {"channel_name": "Direct", "kind": "form_submit",
             "occurred_at": now - timedelta(days=1), "title": "Demo request"},
        ],
    )  # fmt: skip
    client.force_login(rep)
    response = client.get(lead_url(lead))
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("ada@x.io", "+44 20 1234", "Analytical Engines", "Spring Sale",
                 "source=google", "medium=cpc", "campaign=spring_sale", "news.example.org/story",
                 "Demo request", "First touch"):  # fmt: skip
        assert text in page, text
    journey = page[page.index('id="journey"') :]
    assert journey.index("Paid Search") < journey.index("Referral") < journey.index("Direct")


@pytest.mark.parametrize("rows", [3, 30])
def test_lead_page_runs_a_fixed_number_of_queries_whatever_the_rows(
    client, rep, manager, django_assert_num_queries, rows
):
    lead = lead_with_journey(owner=rep, touches=[{"channel_name": "Email"}] * rows)
    for _ in range(rows):
        ActivityFactory(lead=lead)
        DealFactory(lead=lead)
        LeadFeedback.objects.filter(lead=lead).update(is_current=False)
        LeadFeedback.objects.create(lead=lead, rating="good", by=rep)
    from crm import services

    services.lead_change_stage(lead=lead, stage="contacted", by=rep)
    services.lead_assign(lead=lead, owner=rep, by=manager)
    services.lead_assign(lead=lead, owner=manager, by=manager)
    client.force_login(manager)
    # session, user, roles; lead, touchpoints, activities, deals, feedback, history, history
    # owners; disqualify reasons, open pipeline stages, quality reasons, channels, campaigns,
    # owners; follow-ups; follow-ups due (the nav badge); open alerts in the nav; the lead's
    # account, the accounts to pick from, the deals' buying groups
    with django_assert_num_queries(22):
        response = client.get(lead_url(lead))
    assert len(response.context["p"].touchpoints) == rows


def test_another_reps_lead_is_not_found(client, rep, other_rep):
    lead = LeadFactory(owner=other_rep)
    client.force_login(rep)
    assert client.get(lead_url(lead)).status_code == 404


def test_one_click_logs_a_call_with_its_outcome(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    response = client.post(
        reverse("crm:lead-activity", args=[lead.pk]),
        {"kind": "call", "outcome": "connected", "notes": "Budget in Q3", "duration_minutes": "6"},
    )
    assert response.status_code == 302
    assert response.url == lead_url(lead) + "#activities"
    activity = Activity.objects.get()
    assert (activity.kind, activity.outcome, activity.by) == ("call", "connected", rep)
    assert activity.duration == timedelta(minutes=6)
    page = client.get(response.url).content.decode()
    assert "Call logged: Connected." in page
    assert "Budget in Q3" in page
    lead.refresh_from_db()
    assert lead.stage == "contacted" and lead.last_contacted_at is not None


def test_an_event_logged_with_a_campaign_shows_in_the_journey(client, rep):
    lead = LeadFactory(owner=rep)
    expo = CampaignFactory(name="Expo Berlin")
    client.force_login(rep)
    client.post(
        reverse("crm:lead-activity", args=[lead.pk]),
        {"kind": "event", "outcome": "connected", "campaign": expo.pk,
         "channel": Channel.objects.get(name="Event").pk},
    )  # fmt: skip
    page = client.get(lead_url(lead)).content.decode()
    journey = page[page.index('id="journey"') :]
    assert "Offline touch" in journey and "Expo Berlin" in journey


def test_a_bad_activity_is_shown_back_with_its_errors(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    response = client.post(
        reverse("crm:lead-activity", args=[lead.pk]),
        {"kind": "note", "notes": "", "occurred_at": "2099-01-01T10:00"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Write the note." in page
    assert "not ahead" in page
    assert 'value="2099-01-01T10:00"' in page
    assert not Activity.objects.exists()


def test_stage_change_and_disqualify_with_reason_from_the_page(client, rep):
    from crm.models import DisqualifyReason

    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    url = reverse("crm:lead-stage", args=[lead.pk])
    assert client.post(url, {"stage": "qualified"}).status_code == 302
    refused = client.post(url, {"stage": "disqualified"})
    assert refused.status_code == 400
    assert "Choose why the lead is disqualified." in refused.content.decode()
    reason = DisqualifyReason.objects.get(name="Duplicate")
    assert client.post(url, {"stage": "disqualified", "reason": reason.pk}).status_code == 302
    page = client.get(lead_url(lead)).content.decode()
    history = page[page.index('id="history"') :]
    assert 'data-stage="qualified"' in history and 'data-stage="disqualified"' in history
    assert "Reason: Duplicate" in history


def test_rate_the_lead_in_one_click(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    url = reverse("crm:lead-rate", args=[lead.pk])
    assert client.post(url, {"rating": "good"}).status_code == 302
    poor = client.post(url, {"rating": "poor"})
    assert poor.status_code == 400 and "Say why the lead is a poor fit." in poor.content.decode()
    reason = QualityReason.objects.get(name="Student or job seeker")
    assert client.post(url, {"rating": "poor", "reason": reason.pk}).status_code == 302
    assert LeadFeedback.objects.get(is_current=True).reason == reason
    assert LeadFeedback.objects.count() == 2


def test_sales_set_how_the_lead_heard_of_us_and_a_bad_option_is_a_400(client, rep):
    lead = LeadFactory(owner=rep, heard_about="search")
    client.force_login(rep)
    url = reverse("crm:lead-heard-about", args=[lead.pk])
    assert "Search engine" in client.get(lead_url(lead)).content.decode()
    bad = client.post(url, {"heard_about": "billboard"})
    assert bad.status_code == 400 and "Choose one of the options." in bad.content.decode()
    saved = client.post(url, {"heard_about": "other", "heard_about_other": "Their  uncle"})
    assert saved.status_code == 302
    lead.refresh_from_db()
    assert (lead.heard_about, lead.heard_about_other) == ("other", "Their uncle")
    assert lead.heard_about_edited_at is not None
    page = client.get(lead_url(lead)).content.decode()
    assert "“Their uncle”" in page and "set by sales" in page


def test_create_a_deal_then_mark_it_won_lost_and_reopen_from_the_page(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    created = client.post(
        reverse("crm:lead-deal", args=[lead.pk]),
        {"name": "Annual plan", "amount": "12000.00", "expected_close_date": "2031-05-01"},
    )
    assert created.status_code == 302
    deal = Deal.objects.get()
    close = reverse("crm:deal-close", args=[deal.pk])
    lost = client.post(close, {"outcome": "lost"})
    assert lost.status_code == 400 and "Say why the deal was lost." in lost.content.decode()
    assert client.post(close, {"outcome": "won"}).status_code == 302
    lead.refresh_from_db()
    assert lead.stage == "customer"
    assert client.post(reverse("crm:deal-reopen", args=[deal.pk])).status_code == 302
    deal.refresh_from_db()
    assert deal.closed_at is None
    page = client.get(lead_url(lead)).content.decode()
    assert "12,000.00" in page and "Annual plan" in page


def test_a_deal_form_with_bad_input_shows_field_errors(client, rep):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    response = client.post(reverse("crm:lead-deal", args=[lead.pk]), {"name": "", "amount": "-5"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "greater than or equal to 0" in page
    assert not Deal.objects.exists()


def test_manager_reassigns_from_the_lead_page(client, manager, rep, other_rep):
    lead = LeadFactory(owner=rep)
    client.force_login(manager)
    response = client.post(reverse("crm:lead-assign", args=[lead.pk]), {"owner": other_rep.pk})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == other_rep


def test_a_marketer_reads_the_lead_page_without_any_action_forms(client, marketer, rep):
    lead = lead_with_journey(owner=rep)
    client.force_login(marketer)
    page = client.get(lead_url(lead)).content.decode()
    assert "Journey" in page
    assert "Log activity" not in page and "Create deal" not in page


def test_touchpoint_factory_default_channel_is_used_when_not_given(rep):
    # Guards the helper the other tests rely on: the first touch is set.
    lead = lead_with_journey(owner=rep)
    assert lead.first_touch is not None
    assert TouchpointFactory._meta.model.objects.filter(lead=lead).count() == 1


def test_move_an_open_deal_along_the_pipeline_from_the_page(client, rep):
    deal = DealFactory(lead=LeadFactory(owner=rep))
    client.force_login(rep)
    url = reverse("crm:deal-stage", args=[deal.pk])
    response = client.post(url, {"stage": stage("proposal").pk})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage.slug == "proposal"
    # Won and lost are not choices of this form: closing has its own buttons.
    assert client.post(url, {"stage": stage("won").pk}).status_code == 400


def test_hostile_queue_parameters_are_ignored_not_a_server_error(client, manager):
    client.force_login(manager)
    for params in ({"channel": "9" * 30}, {"campaign": "-1"}, {"owner": "9" * 30},
                   {"page": "x"}, {"q": "\x00"}):  # fmt: skip
        assert client.get(reverse("crm:queue"), params).status_code == 200, params
