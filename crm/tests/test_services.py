from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory
from crm import hooks, services
from crm.models import Activity, DisqualifyReason, LeadFeedback, LeadHistory, QualityReason
from crm.tests.factories import DealFactory, lead_with_journey, stage
from leads.models import CaptureForm, Lead, Touchpoint
from leads.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
Stage = Lead.Stage


@pytest.fixture
def refreshes(monkeypatch):
    """The lead ids of the attribution refreshes sent to Celery (by the outbox, after commit)."""
    from attribution import tasks

    calls: list[int] = []

    def sent(args=None, kwargs=None, **options):
        calls.append(kwargs["lead_id"])

    monkeypatch.setattr(tasks.attribution_refresh_lead, "apply_async", sent)
    return calls


def stage_history(lead):
    return list(
        LeadHistory.objects.filter(lead=lead, field="stage")
        .order_by("at", "id")
        .values_list("old", "new", "by_id")
    )


# --- Lifecycle and history -------------------------------------------------------------------


def test_every_stage_change_is_recorded_with_who_and_when(rep):
    lead = LeadFactory(owner=rep)
    before = timezone.now()
    services.lead_change_stage(lead=lead, stage=Stage.CONTACTED, by=rep)
    services.lead_change_stage(lead=lead, stage=Stage.QUALIFIED, by=rep)
    services.lead_change_stage(lead=lead, stage=Stage.QUALIFIED, by=rep)  # no change, no row
    lead.refresh_from_db()
    assert lead.stage == Stage.QUALIFIED
    assert stage_history(lead) == [("new", "contacted", rep.pk), ("contacted", "qualified", rep.pk)]
    assert all(h.at >= before for h in LeadHistory.objects.all())


def test_disqualifying_needs_a_reason_which_the_history_keeps(rep):
    lead = LeadFactory(owner=rep)
    with pytest.raises(ValidationError) as exc:
        services.lead_change_stage(lead=lead, stage=Stage.DISQUALIFIED, by=rep)
    assert "reason" in exc.value.message_dict
    reason = DisqualifyReason.objects.get(name="No budget")
    services.lead_change_stage(lead=lead, stage=Stage.DISQUALIFIED, by=rep, reason=reason)
    row = LeadHistory.objects.get(lead=lead)
    assert (row.new, row.disqualify_reason) == ("disqualified", reason)


def test_unknown_stage_is_refused(rep):
    with pytest.raises(ValidationError):
        services.lead_change_stage(lead=LeadFactory(owner=rep), stage="won", by=rep)


def test_a_rep_cannot_change_another_reps_lead_nor_a_marketer_any(rep, other_rep, marketer):
    lead = LeadFactory(owner=other_rep)
    for user in (rep, marketer):
        with pytest.raises(PermissionDenied):
            services.lead_change_stage(lead=lead, stage=Stage.CONTACTED, by=user)
    assert not LeadHistory.objects.exists()


def test_manager_reassigns_a_lead_and_its_open_deals_with_history(rep, other_rep, manager):
    lead = LeadFactory(owner=rep)
    open_deal = DealFactory(lead=lead)
    won_deal = DealFactory(lead=lead, stage=stage("won"), closed_at=timezone.now())
    services.lead_assign(lead=lead, owner=other_rep, by=manager)
    lead.refresh_from_db()
    open_deal.refresh_from_db()
    won_deal.refresh_from_db()
    assert (lead.owner, open_deal.owner, won_deal.owner) == (other_rep, other_rep, rep)
    row = LeadHistory.objects.get(lead=lead, field="owner")
    assert (row.old, row.new, row.by) == (str(rep.pk), str(other_rep.pk), manager)


def test_only_managers_assign_and_only_to_reps_or_managers(rep, other_rep, marketer, manager):
    lead = LeadFactory(owner=rep)
    with pytest.raises(PermissionDenied):
        services.lead_assign(lead=lead, owner=other_rep, by=rep)
    with pytest.raises(ValidationError):
        services.lead_assign(lead=lead, owner=marketer, by=manager)


def test_bulk_assign_moves_only_leads_not_already_owned_and_records_each(rep, other_rep, manager):
    leads = [LeadFactory(owner=rep), LeadFactory(owner=None), LeadFactory(owner=other_rep)]
    changed = services.lead_bulk_assign(leads=leads, owner=other_rep, by=manager)
    assert changed == 2
    assert set(Lead.objects.values_list("owner_id", flat=True)) == {other_rep.pk}
    assert LeadHistory.objects.filter(field="owner", new=str(other_rep.pk), by=manager).count() == 2


def test_round_robin_spreads_new_leads_evenly_over_active_reps_and_records_it(rep, other_rep):
    cache.delete("crm:round-robin")
    owners = []
    for _ in range(6):
        lead = LeadFactory()
        owners.append(services.lead_assign_new(lead=lead))
    assert owners == [other_rep, rep, other_rep, rep, other_rep, rep]
    history = LeadHistory.objects.filter(field="owner")
    assert history.count() == 6
    assert all(h.by is None and h.old == "" for h in history)


def test_round_robin_skips_inactive_reps(rep, other_rep):
    other_rep.is_active = False
    other_rep.save()
    cache.delete("crm:round-robin")
    assert {services.lead_assign_new(lead=LeadFactory()) for _ in range(3)} == {rep}


def test_a_form_with_a_fixed_owner_or_no_assignment(rep, manager):
    fixed = CaptureForm.objects.create(
        name="Demo", assignment=CaptureForm.Assignment.FIXED_OWNER, owner=manager
    )
    none = CaptureForm.objects.create(name="Quiet", assignment=CaptureForm.Assignment.UNASSIGNED)
    assert services.lead_assign_new(lead=LeadFactory(), form=fixed) == manager
    assert services.lead_assign_new(lead=LeadFactory(), form=none) is None
    assert LeadHistory.objects.filter(new=str(manager.pk)).count() == 1


# --- Activities ------------------------------------------------------------------------------


def test_a_connected_call_sets_last_contact_and_moves_a_new_lead_to_contacted(rep):
    lead = LeadFactory(owner=rep)
    at = timezone.now() - timedelta(hours=1)
    services.activity_log(
        lead=lead, kind="call", by=rep, outcome="connected", occurred_at=at,
        duration=timedelta(minutes=7), notes="Wants a demo",
    )  # fmt: skip
    lead.refresh_from_db()
    assert lead.last_contacted_at == at
    assert lead.stage == Stage.CONTACTED
    assert stage_history(lead) == [("new", "contacted", rep.pk)]


def test_an_unanswered_call_is_a_contact_attempt_but_not_contact(rep):
    lead = LeadFactory(owner=rep)
    services.activity_log(lead=lead, kind="call", by=rep, outcome="no_answer")
    lead.refresh_from_db()
    assert lead.last_contacted_at is not None
    assert lead.stage == Stage.NEW


def test_a_note_is_not_contact_and_needs_text(rep):
    lead = LeadFactory(owner=rep)
    with pytest.raises(ValidationError):
        services.activity_log(lead=lead, kind="note", by=rep, notes="  ")
    services.activity_log(lead=lead, kind="note", by=rep, notes="Met at the booth")
    lead.refresh_from_db()
    assert (lead.last_contacted_at, lead.stage) == (None, Stage.NEW)


def test_an_older_activity_does_not_move_last_contact_back(rep):
    lead = LeadFactory(owner=rep)
    now = timezone.now()
    services.activity_log(lead=lead, kind="email", by=rep, outcome="replied", occurred_at=now)
    services.activity_log(
        lead=lead, kind="call", by=rep, outcome="connected", occurred_at=now - timedelta(days=2)
    )
    lead.refresh_from_db()
    assert lead.last_contacted_at == now


def test_first_contact_is_the_earliest_contact_since_capture(rep, manager):
    now = timezone.now()
    lead = LeadFactory(owner=rep, created_at=now - timedelta(days=3))
    services.activity_log(  # logged for a call made before the form was filled in
        lead=lead, kind="call", by=rep, outcome="connected", occurred_at=now - timedelta(days=4)
    )
    services.activity_log(lead=lead, kind="note", by=rep, notes="not contact")
    lead.refresh_from_db()
    assert lead.first_contacted_at is None
    late = services.activity_log(
        lead=lead, kind="email", by=rep, outcome="sent", occurred_at=now - timedelta(days=1)
    )
    early = services.activity_log(
        lead=lead, kind="call", by=rep, outcome="no_answer", occurred_at=now - timedelta(days=2)
    )
    lead.refresh_from_db()
    assert lead.first_contacted_at == now - timedelta(days=2)
    assert lead.last_contacted_at == now - timedelta(days=1)

    services.activity_delete(activity=early, by=manager)
    lead.refresh_from_db()
    assert lead.first_contacted_at == now - timedelta(days=1)
    services.activity_update(activity=late, by=rep, data={"occurred_at": now - timedelta(hours=2)})
    lead.refresh_from_db()
    assert (lead.first_contacted_at, lead.last_contacted_at) == (now - timedelta(hours=2),) * 2
    services.activity_delete(activity=late, by=manager)
    lead.refresh_from_db()
    assert lead.first_contacted_at is None
    assert lead.last_contacted_at == now - timedelta(days=4)


def test_bad_activity_input_is_refused_per_field(rep):
    lead = LeadFactory(owner=rep)
    with pytest.raises(ValidationError) as exc:
        services.activity_log(
            lead=lead, kind="email", by=rep, outcome="no_show",
            occurred_at=timezone.now() + timedelta(days=1), duration=timedelta(hours=30),
        )  # fmt: skip
    assert set(exc.value.message_dict) == {"outcome", "occurred_at", "duration"}
    assert not Activity.objects.exists()


def test_an_event_with_a_campaign_becomes_an_offline_touchpoint_for_attribution(rep):
    lead = lead_with_journey(owner=rep, touches=[{"channel_name": "Organic Search"}])
    campaign = CampaignFactory(name="Expo 2026")
    activity = services.activity_log(
        lead=lead, kind="event", by=rep, outcome="connected", campaign=campaign
    )
    touch = activity.touchpoint
    assert touch is not None
    assert (touch.kind, touch.channel.name, touch.campaign) == ("offline", "Event", campaign)
    assert touch.lead == lead
    lead.refresh_from_db()
    assert lead.latest_touch == touch
    assert Touchpoint.objects.filter(lead=lead).count() == 2


def test_an_inbound_call_with_a_chosen_channel_and_a_plain_call_without(rep):
    from campaigns.models import Channel

    lead = LeadFactory(owner=rep)
    paid = Channel.objects.get(name="Paid Search")
    inbound = services.activity_log(lead=lead, kind="inbound_call", by=rep, channel=paid)
    assert inbound.touchpoint.channel == paid
    with pytest.raises(ValidationError) as exc:
        services.activity_log(lead=lead, kind="call", by=rep, channel=paid)
    assert "channel" in exc.value.message_dict
    plain = services.activity_log(lead=lead, kind="inbound_call", by=rep, outcome="connected")
    assert plain.touchpoint is None


def test_only_managers_delete_activities_and_never_an_attribution_touch(rep, manager):
    lead = LeadFactory(owner=rep)
    call = services.activity_log(lead=lead, kind="call", by=rep, outcome="connected")
    event = services.activity_log(lead=lead, kind="event", by=rep, campaign=CampaignFactory())
    with pytest.raises(PermissionDenied):
        services.activity_delete(activity=call, by=rep)
    with pytest.raises(ValidationError):
        services.activity_delete(activity=event, by=manager)
    services.activity_delete(activity=call, by=manager)
    assert list(Activity.objects.all()) == [event]


# --- Feedback --------------------------------------------------------------------------------


def test_one_current_rating_per_lead_and_older_ones_are_kept(rep):
    lead = LeadFactory(owner=rep)
    good = QualityReason.objects.filter(applies_to="good").first()
    poor = QualityReason.objects.filter(applies_to="poor").first()
    services.feedback_rate(lead=lead, rating="good", by=rep, reason=good)
    services.feedback_rate(lead=lead, rating="poor", by=rep, reason=poor, note="Student")
    ratings = list(LeadFeedback.objects.filter(lead=lead).order_by("id"))
    assert [(f.rating, f.is_current) for f in ratings] == [("good", False), ("poor", True)]


def test_a_poor_rating_needs_a_matching_reason(rep):
    lead = LeadFactory(owner=rep)
    good = QualityReason.objects.filter(applies_to="good").first()
    with pytest.raises(ValidationError):
        services.feedback_rate(lead=lead, rating="poor", by=rep)
    with pytest.raises(ValidationError):
        services.feedback_rate(lead=lead, rating="poor", by=rep, reason=good)
    assert not LeadFeedback.objects.exists()


# --- Deals -----------------------------------------------------------------------------------


def test_creating_a_deal_makes_the_lead_an_opportunity_and_winning_a_customer(rep, refreshes):
    lead = LeadFactory(owner=rep, stage=Stage.CONTACTED)
    deal = services.deal_create(lead=lead, name="Pilot", by=rep, amount=Decimal("1200.50"))
    assert (deal.stage.slug, deal.owner, deal.closed_at) == ("qualification", rep, None)
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY
    services.deal_close(deal=deal, won=True, by=rep)
    lead.refresh_from_db()
    assert lead.stage == Stage.CUSTOMER
    assert stage_history(lead) == [
        ("contacted", "opportunity", rep.pk),
        ("opportunity", "customer", rep.pk),
    ]


def test_a_deal_on_a_customer_leaves_it_a_customer(rep):
    lead = LeadFactory(owner=rep, stage=Stage.CUSTOMER)
    services.deal_create(lead=lead, name="Upsell", by=rep)
    lead.refresh_from_db()
    assert lead.stage == Stage.CUSTOMER
    assert not LeadHistory.objects.exists()


def test_a_lost_deal_needs_a_reason(rep):
    deal = services.deal_create(lead=LeadFactory(owner=rep), name="X", by=rep)
    with pytest.raises(ValidationError) as exc:
        services.deal_close(deal=deal, won=False, by=rep)
    assert "reason" in exc.value.message_dict
    services.deal_close(deal=deal, won=False, by=rep, reason="Price")
    deal.refresh_from_db()
    assert (deal.stage.slug, deal.close_reason) == ("lost", "Price")
    assert deal.closed_at is not None


def test_closing_a_deal_queues_attribution_for_its_lead_on_commit(
    rep, refreshes, django_capture_on_commit_callbacks
):
    deal = services.deal_create(lead=LeadFactory(owner=rep), name="X", by=rep)
    with django_capture_on_commit_callbacks() as callbacks:
        services.deal_close(deal=deal, won=True, by=rep)
    assert len(callbacks) == 1
    assert refreshes == []  # queued, not run before the commit
    callbacks[0]()
    assert refreshes == [deal.lead_id]


def test_reopening_a_won_deal_queues_attribution_and_undoes_the_customer_stage(
    rep, refreshes, django_capture_on_commit_callbacks
):
    lead = LeadFactory(owner=rep)
    deal = services.deal_create(lead=lead, name="X", by=rep)
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_close(deal=deal, won=True, by=rep)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.deal_reopen(deal=deal, by=rep)
    assert len(callbacks) == 1
    assert refreshes == [lead.pk, lead.pk]
    deal.refresh_from_db()
    lead.refresh_from_db()
    assert (deal.stage.slug, deal.closed_at, lead.stage) == ("negotiation", None, "opportunity")


def test_changing_the_amount_queues_attribution_and_other_edits_do_not(
    rep, refreshes, django_capture_on_commit_callbacks
):
    deal = services.deal_create(lead=LeadFactory(owner=rep), name="X", by=rep)
    with django_capture_on_commit_callbacks(execute=True) as renamed:
        services.deal_update(deal=deal, by=rep, data={"name": "Y"})
    with django_capture_on_commit_callbacks(execute=True) as repriced:
        services.deal_update(deal=deal, by=rep, data={"amount": Decimal("99.00")})
    assert (len(renamed), len(repriced)) == (0, 1)
    assert refreshes == [deal.lead_id]


def test_a_rolled_back_close_queues_nothing(rep, refreshes, django_capture_on_commit_callbacks):
    deal = services.deal_create(lead=LeadFactory(owner=rep), name="X", by=rep)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        services.deal_close(deal=deal, won=True, by=rep)
        raise RuntimeError("something after the close failed")
    assert callbacks == []
    assert refreshes == []


def test_deleting_a_won_deal_queues_attribution_and_steps_the_lead_back(
    rep, manager, refreshes, django_capture_on_commit_callbacks
):
    lead = LeadFactory(owner=rep)
    deal = services.deal_create(lead=lead, name="X", by=rep)
    services.deal_close(deal=deal, won=True, by=rep)
    with pytest.raises(PermissionDenied):
        services.deal_delete(deal=deal, by=rep)
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_delete(deal=deal, by=manager)
    lead.refresh_from_db()
    assert lead.stage == Stage.OPPORTUNITY
    assert refreshes == [lead.pk]


def test_moving_a_deal_through_the_pipeline(rep, refreshes, django_capture_on_commit_callbacks):
    deal = services.deal_create(lead=LeadFactory(owner=rep), name="X", by=rep)
    with django_capture_on_commit_callbacks(execute=True) as open_moves:
        services.deal_move_stage(deal=deal, stage=stage("proposal"), by=rep)
    assert open_moves == []
    with pytest.raises(ValidationError):
        services.deal_move_stage(deal=deal, stage=stage("lost"), by=rep)
    services.deal_move_stage(deal=deal, stage=stage("lost"), by=rep, reason="No budget")
    services.deal_move_stage(deal=deal, stage=stage("proposal"), by=rep)
    deal.refresh_from_db()
    assert (deal.stage.slug, deal.closed_at, deal.close_reason) == ("proposal", None, "")


def test_a_deal_change_keeps_its_attribution_refresh_in_the_outbox_while_the_broker_is_down(
    rep, monkeypatch, django_capture_on_commit_callbacks
):
    from attribution import tasks
    from outbox.models import OutboxMessage
    from outbox.services import outbox_relay

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.attribution_refresh_lead, "apply_async", broker_down)
    deal = services.deal_create(lead=LeadFactory(owner=rep), name="X", by=rep)
    with django_capture_on_commit_callbacks(execute=True):
        services.deal_close(deal=deal, won=True, by=rep)  # no error for the user
    message = OutboxMessage.objects.get(task=hooks.REFRESH_TASK)
    assert (message.status, message.kwargs, message.attempts) == (
        "pending",
        {"lead_id": deal.lead_id},
        1,
    )
    assert "broker unreachable" in message.last_error

    sent = []
    monkeypatch.setattr(
        tasks.attribution_refresh_lead, "apply_async", lambda kwargs=None, **o: sent.append(kwargs)
    )
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox_relay().sent == 1  # the broker is back: the relay sends it
    assert sent == [{"lead_id": deal.lead_id}]
    message.refresh_from_db()
    assert message.status == "sent"
