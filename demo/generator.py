"""Deterministic demo data that tells a story: channels that pay and channels that don't.

Same seed, same data (dates are relative to today). Rows are classified by the same channel
rules as live traffic and written with the bulk paths (COPY on PostgreSQL), giving the rows the
services would write. Sizes: small (make run), medium, large (1,000,000 touchpoints).
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from attribution.services import run_create
from campaigns.models import Campaign, Channel, Spend
from campaigns.rules import classify
from clm import bulk
from crm import rollups
from crm.models import (
    Account,
    AccountContact,
    AccountDomain,
    Activity,
    Deal,
    DealContact,
    LeadFeedback,
    LeadHistory,
    PipelineStage,
    QualityReason,
    Task,
)
from crm.services import company_key
from demo import mix_truth
from demo.mix_truth import CAMPAIGNS
from insights.alerts import alerts_check_all
from insights.engine import NotEnoughData
from insights.scoring import scoring_train
from leads.classification import visits_continue
from leads.models import CaptureForm, Lead, Submission, Touchpoint, Visitor, normalise_email
from mix.engine.model import MAX_LAG
from nurture.demo import generate as nurture_demo

SIZES = {"small": 1_500, "medium": 10_000, "large": 100_000}
SITE = "https://www.acme-analytics.example"


ORGANIC = [
    # (referrer, weight, quality, deal_mean)
    ("https://www.google.com/", 1.5, 1.1, 8_000),
    ("https://www.linkedin.com/feed/", 0.5, 0.9, 8_000),
    ("https://www.g2.com/products/acme/reviews", 0.4, 1.3, 9_000),
    ("", 0.9, 1.0, 7_000),  # direct
]
FIRST_NAMES = [
    "Ana",
    "Ben",
    "Chloé",
    "Dewi",
    "Eko",
    "Farah",
    "Gus",
    "Hana",
    "Ivan",
    "Jae",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
    "Omar",
    "Putri",
    "Quinn",
    "Rui",
    "Sita",
    "Tom",
    "Uma",
    "Vic",
    "Wayan",
    "Xin",
    "Yusuf",
    "Zoe",
]
LAST_NAMES = [
    "Santoso",
    "Müller",
    "Smith",
    "Tanaka",
    "Rossi",
    "Nguyen",
    "Okafor",
    "Silva",
    "Kowalski",
    "Haddad",
    "Lim",
    "Garcia",
    "Wijaya",
    "Berg",
    "Novak",
    "Costa",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Vandelay",
    "Wonka",
    "Pied",
    "Piper",
    "Oscorp",
    "Nusantara",
    "Tech",
    "Kopi",
    "Kenangan",
    "Gojek-ish",
]
LOST_REASONS = ["Price", "Went with a competitor", "No budget", "Timing", "No decision"]
# "How did you hear about us?": what a lead whose first touch was this channel tends to say.
SAID_FOR_CHANNEL = {
    "Paid Search": "search",
    "Organic Search": "search",
    "Paid Social": "social",
    "Organic Social": "social",
    "Referral": "friend",
    "Event": "event",
    "Display": "ad",
}
SAID = ["search", "social", "podcast", "friend", "event", "community", "ad", "other"]
SAID_OTHER = ["Word of mouth", "word of mouth", "A podcast ad", "LinkedIn post", "Our consultant"]
ANSWER_SHARE = 0.55


def said_about(rng: Any, channel: str) -> tuple[str, str]:
    """A demo lead's answer to "How did you hear about us?" ("", "" for none): half the time
    what their first channel suggests, else anything (podcasts and friends leave no click)."""
    if rng.random() >= ANSWER_SHARE:
        return "", ""
    key = SAID_FOR_CHANNEL.get(channel, "") if rng.random() < 0.5 else ""
    key = key or str(rng.choice(SAID))
    return key, str(rng.choice(SAID_OTHER)) if key == "other" else ""


class Progress:
    """A one-line progress bar on stderr for steps that take more than a moment."""

    def __init__(self, label: str, total: int, out: Any = None) -> None:
        self.label, self.total, self.out = label, max(1, total), out or sys.stderr
        self.started = time.perf_counter()
        self.shown = -1

    def update(self, done: int) -> None:
        percent = int(100 * done / self.total)
        if percent != self.shown:
            self.shown = percent
            bar = "#" * (percent // 4) + "-" * (25 - percent // 4)
            self.out.write(f"\r  {self.label:<22} [{bar}] {percent:3d}%")
            self.out.flush()

    def done(self) -> None:
        self.update(self.total)
        self.out.write(f"  {time.perf_counter() - self.started:5.1f}s\n")


CHUNK = 100_000  # leads written (COPY) and checked per chunk: memory stays bounded at any size


def generate(
    *,
    leads: int,
    seed: int = 42,
    log: Callable[[str], None] = print,
    run: bool = True,
    chunk: int = CHUNK,
) -> dict[str, int]:
    """Write a demo dataset of about `leads` leads; return counts of what was written.

    Spend covers the last `mix_truth.WEEKS` whole weeks and this one, with each campaign's
    bursts, pauses and flighting; the leads each week come from the truth in demo/mix_truth.py
    (a baseline plus each channel's response to its carried-over spend), and each lead's first
    touch is of the channel (or organic source) that brought it.

    Every column is computed in memory before its row is written (a lead's first, creation and
    latest touch too), and rows are written by COPY every `chunk` leads, so a million leads
    cost no per-row UPDATE and no more memory than `chunk` of them (plus the deals)."""
    from django.contrib.auth import get_user_model

    rng = np.random.default_rng(seed)
    plan_rng = np.random.default_rng(seed + 3)  # its own stream: spend and causes of leads
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    today = now.date()
    first = today - timedelta(days=today.weekday() + 7 * mix_truth.WEEKS)  # a Monday
    days = (today - first).days
    start_of = now.replace(hour=0) - timedelta(days=days)  # midnight of the first day
    User = get_user_model()
    reps = list(User.objects.filter(groups__name="Sales rep", is_active=True).order_by("id"))
    marketer = User.objects.filter(groups__name="Marketer").first()
    if not reps:
        raise ValueError("seed the demo users first (seed_demo does)")
    counts: dict[str, int] = {}

    with transaction.atomic():
        form, _ = CaptureForm.objects.get_or_create(
            slug="demo-request",
            defaults={
                "name": "Demo request",
                "headline": "See Acme Analytics in action",
                "intro": "Book a 20-minute demo with our team.",
                "allowed_origins": [SITE],
                "consent_text": "Send me product news and event invitations.",
                "consent_version": "2026-01",
                "ask_heard_about": True,
            },
        )
        # Its own stream, so the rest of the demo data stays what it was for a seed.
        said_rng = np.random.default_rng(seed + 22)
        channel_names = dict(Channel.objects.values_list("pk", "name"))
        campaigns = []
        for spec in CAMPAIGNS:
            probe = classify(utm_source=spec.source, utm_medium=spec.medium)
            campaign, _ = Campaign.objects.get_or_create(
                utm_campaign=spec.utm_campaign,
                utm_source="",
                utm_medium="",
                defaults={
                    "name": spec.name,
                    "channel_id": probe.channel_id,
                    "start_date": today - timedelta(days=days),
                    "budget": Decimal(int(spec.daily_spend * days * 1.1)),
                    "owner": marketer,
                },
            )
            campaigns.append(campaign)

        # Weekly spend per campaign (bursts, pauses, flighting), split over the days of each
        # week with day-to-day noise; the truth's expected leads per week follow from it.
        plan = mix_truth.plan(
            plan_rng,
            weeks=mix_truth.WEEKS + 1,
            start=str(first),
            channel_of={
                c.utm_campaign: channel_names.get(c.channel_id, "")
                for c in campaigns
            },
        )  # fmt: skip
        spend_rows = []
        progress = Progress("spend", len(CAMPAIGNS))
        for i, (spec, campaign) in enumerate(zip(CAMPAIGNS, campaigns, strict=True)):
            weekly = plan.campaign_spend[spec.utm_campaign].to_numpy()
            factors = rng.normal(1.0, 0.18, 7 * len(weekly)).clip(0.3, 2.0).reshape(-1, 7)
            daily = weekly[:, None] * factors / factors.sum(axis=1, keepdims=True)
            for d in range(days):
                if daily.flat[d] <= 0:
                    continue  # a paused week: no spend row
                amount = Decimal(str(round(float(daily.flat[d]), 2)))
                impressions = int(float(amount) * int(rng.integers(40, 120)))
                spend_rows.append(
                    Spend(
                        campaign=campaign,
                        date=today - timedelta(days=days - d),
                        amount=amount,
                        currency="USD",
                        impressions=impressions,
                        clicks=max(1, impressions // int(rng.integers(30, 90))),
                        source="demo",
                    )
                )
            progress.update(i + 1)
        Spend.objects.filter(source="demo").delete()
        bulk.insert(Spend, _with_ids(Spend, spend_rows, bulk))
        bulk.reset_sequence(Spend)
        progress.done()
        counts["spend_rows"] = len(spend_rows)

        # Sources a journey can touch: campaigns and organic sources, with their profile.
        sources: list[dict[str, Any]] = []
        for spec, campaign in zip(CAMPAIGNS, campaigns, strict=True):
            sources.append({
                "weight": spec.weight, "quality": spec.quality, "deal": spec.deal_mean,
                "url": f"{SITE}/?utm_source={spec.source}&utm_medium={spec.medium}"
                       f"&utm_campaign={spec.utm_campaign}",
                "referrer": "", "campaign": campaign.pk, "offline": spec.medium == "event",
                "utm": (spec.source, spec.medium, spec.utm_campaign),
            })  # fmt: skip
        for referrer, weight, quality, deal in ORGANIC:
            sources.append({
                "weight": weight, "quality": quality, "deal": deal, "url": f"{SITE}/",
                "referrer": referrer, "campaign": None, "offline": False, "utm": ("", "", ""),
            })  # fmt: skip
        weights = np.array([s["weight"] for s in sources])
        weights = weights / weights.sum()
        classified = []
        for s in sources:
            if s["offline"]:
                result = classify(utm_source=s["utm"][0], utm_medium=s["utm"][1])
            else:
                result = classify(
                    utm_source=s["utm"][0], utm_medium=s["utm"][1], utm_campaign=s["utm"][2],
                    referrer=s["referrer"], landing_url=s["url"],
                )  # fmt: skip
            classified.append(result)

        # Which week each lead comes in and what brought it: the truth's expected leads per
        # week and cause, scaled to `leads` in all (this week's share by the hours gone).
        expected = plan.expected.to_numpy().copy()
        expected[-1] *= max((now - start_of).total_seconds() / 3600 - 24 * 7 * mix_truth.WEEKS - 2,
                            0.0) / (24 * 7)  # fmt: skip
        scale = leads / expected.sum()
        drawn = plan_rng.multinomial(leads, (expected / expected.sum()).ravel())
        cause_cells = plan_rng.permutation(np.repeat(np.arange(drawn.size), drawn))
        causes = list(plan.expected.columns)
        campaign_index = {spec.utm_campaign: i for i, spec in enumerate(CAMPAIGNS)}
        recent = plan.campaign_spend.rolling(MAX_LAG, min_periods=1).sum()
        organic = np.arange(len(CAMPAIGNS), len(sources))
        organic_p = weights[organic] / weights[organic].sum()
        caused_by: dict[int, str] = {}
        won_by_cause: dict[str, float] = {}

        lead_ids = bulk.next_ids(Lead, leads)
        touch_start = bulk.next_ids(Touchpoint, 1).start
        sub_start = bulk.next_ids(Submission, 1).start
        lead_rows, touch_rows, visitor_rows, sub_rows = [], [], [], []
        history_rows, activity_rows, feedback_rows, deal_rows = [], [], [], []
        good_reason = QualityReason.objects.filter(applies_to__in=["good", "any"]).first()
        poor_reason = QualityReason.objects.filter(applies_to__in=["poor", "any"]).first()
        stages = {s.slug: s for s in PipelineStage.objects.all()}
        open_stages = [s for s in stages.values() if not s.is_won and not s.is_lost]
        won_stage = next(s for s in stages.values() if s.is_won)
        lost_stage = next(s for s in stages.values() if s.is_lost)
        deal_id = bulk.next_ids(Deal, 1).start
        touch_id, sub_id = touch_start, sub_start
        written = {"leads": 0, "touchpoints": 0, "activities": 0, "feedback": 0}
        # Accounts (crm): consecutive leads share one, so its people's touches differ in channel.
        account_rng = np.random.default_rng(seed + 1)
        account_names: list[str] = []
        lead_account: dict[int, int] = {}
        account_left = 0
        progress = Progress("leads and journeys", leads)
        for n, lead_id in enumerate(lead_ids):
            week, cause = divmod(int(cause_cells[n]), len(causes))
            week_start = start_of + timedelta(weeks=week)
            span = min(24 * 7.0, (now - week_start).total_seconds() / 3600 - 2)
            created = week_start + timedelta(hours=float(rng.uniform(0, span)))
            n_sources = int(min(8, 1 + rng.poisson(1.6)))
            picks = rng.choice(len(sources), size=n_sources, p=weights)
            if causes[cause] == "base":
                picks[0] = int(rng.choice(organic, p=organic_p))
            else:  # a campaign of the channel, by its spend of the weeks that carry over
                mine = [
                    campaign_index[key]
                    for key, channel in plan.channel_of.items()
                    if channel == causes[cause]
                ]
                spent = recent.iloc[week, mine].to_numpy() + 1e-9
                picks[0] = int(rng.choice(mine, p=spent / spent.sum()))
                caused_by[lead_id] = causes[cause]
            gaps = np.sort(rng.uniform(0, 45 * 24, n_sources))[::-1]
            visitor = f"demo{seed}v{lead_id:08d}"
            first_name = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
            last_name = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
            rng.integers(len(COMPANIES))  # kept, so the rest of a seed's data stays the same
            if account_left == 0:  # the next account: 1-6 people, each with their own journey
                account_left = int(account_rng.integers(1, 7))
                base = COMPANIES[len(account_names) % len(COMPANIES)]
                rounds = len(account_names) // len(COMPANIES)
                account_names.append(f"{base} {rounds + 1}" if rounds else base)
            account_left -= 1
            company = account_names[-1]
            lead_account[lead_id] = len(account_names) - 1
            owner = reps[n % len(reps)]
            first_touch_id = touch_id
            first_source = (classified[picks[0]].channel_id, sources[picks[0]]["campaign"])
            said, said_other = said_about(said_rng, channel_names.get(first_source[0], ""))
            journey_start = len(touch_rows)
            for k, pick in enumerate(picks):
                s, result = sources[pick], classified[pick]
                at = created - timedelta(hours=float(gaps[k])) if k < n_sources - 1 else created
                last = k == n_sources - 1
                kind = "form_submit" if last else ("offline" if s["offline"] else "page_view")
                if last:
                    last_submit_id = touch_id
                touch_rows.append(Touchpoint(
                    id=touch_id, kind=kind, occurred_at=at, lead_id=lead_id,
                    visitor_id=None if s["offline"] else visitor,
                    submission_id=sub_id if last else None,
                    url=s["url"], referrer=s["referrer"],
                    title="Demo request" if last else "Acme Analytics",
                    utm_source=s["utm"][0], utm_medium=s["utm"][1], utm_campaign=s["utm"][2],
                    source=result.facts.source[:255], medium=result.facts.medium[:255],
                    channel_id=result.channel_id, matched_rule=result.match.rule_id or "",
                    campaign_id=s["campaign"],
                ))  # fmt: skip
                touch_id += 1
                # Page views continuing the visit (navigation within the site).
                for extra in range(int(rng.poisson(2.8)) if not s["offline"] else 0):
                    touch_rows.append(Touchpoint(
                        id=touch_id, kind="page_view", occurred_at=at + timedelta(minutes=extra + 1),
                        lead_id=lead_id, visitor_id=visitor, url=f"{SITE}/pricing",
                        referrer=f"{SITE}/", title="Pricing", self_referral=True,
                        source=result.facts.source[:255], medium=result.facts.medium[:255],
                        channel_id=result.channel_id, matched_rule=result.match.rule_id or "",
                        campaign_id=s["campaign"],
                    ))  # fmt: skip
                    touch_id += 1
            # Page views continue the touch before them in time, as capture does.
            visits_continue(touch_rows[journey_start:])
            creation_touch_id = last_submit_id
            visitor_rows.append(
                Visitor(id=visitor, lead_id=lead_id, first_seen=created - timedelta(days=45),
                        last_seen=created)
            )  # fmt: skip
            typed = f"{first_name}.{last_name}.{lead_id}@{company.lower().replace(' ', '')}.example"
            email = normalise_email(typed)  # stored as every write path stores it
            sub_rows.append(Submission(
                id=sub_id, form=form, form_key=form.key, received_at=created, status="accepted",
                payload={"email": typed, "first_name": first_name, "company": company},
                payload_hash=f"demo{sub_id}", lead_id=lead_id, lead_created=True,
                heard_about=said, heard_about_other=said_other,
            ))  # fmt: skip
            sub_id += 1

            # Outcomes depend on the sources the journey touched (first touch counts most).
            quality = 0.55 * sources[picks[0]]["quality"] + 0.45 * float(
                np.mean([sources[p]["quality"] for p in picks])
            )
            age_days = (now - created).days
            stage = "new"
            history = [("new", created)]
            contacted = age_days > 1 and rng.random() < 0.9
            if contacted:
                delay = timedelta(hours=float(rng.gamma(2.0, 4 + 6 * (n % len(reps)))))
                first_contact = min(created + delay, now - timedelta(minutes=5))
                stage = "contacted"
                history.append(("contacted", first_contact))
                last_contact = first_contact
                for c in range(1 + int(rng.poisson(1.5))):
                    at = min(first_contact + timedelta(days=3 * c), now - timedelta(minutes=1))
                    last_contact = max(last_contact, at)
                    outcome = rng.choice(
                        ["connected", "no_answer", "left_voicemail", "meeting_booked"]
                    )
                    activity_rows.append(Activity(
                        lead_id=lead_id, kind="call", outcome=str(outcome), occurred_at=at,
                        duration=timedelta(minutes=int(rng.integers(1, 25))), by=owner,
                    ))  # fmt: skip
                if rng.random() < 0.45:
                    good = rng.random() < min(0.95, 0.35 * quality + 0.15)
                    feedback_rows.append(LeadFeedback(
                        lead_id=lead_id, rating="good" if good else "poor",
                        reason=good_reason if good else poor_reason, by=owner,
                    ))  # fmt: skip
            opp_p = min(0.9, 0.3 * quality) if contacted and age_days > 7 else 0.0
            if rng.random() < opp_p:
                opened = created + timedelta(days=float(rng.uniform(2, 20)))
                opened = min(opened, now - timedelta(hours=1))
                stage = "opportunity"
                history.append(("qualified", opened - timedelta(hours=2)))
                history.append(("opportunity", opened))
                mean = sources[picks[0]]["deal"]
                amount = Decimal(str(round(float(rng.lognormal(math.log(mean), 0.45)), 2)))
                closes = opened + timedelta(days=float(rng.uniform(10, 60)))
                deal_stage, closed_at, reason = (
                    open_stages[int(rng.integers(len(open_stages)))],
                    None,
                    "",
                )
                if closes < now:
                    won = rng.random() < min(0.85, 0.5 * math.sqrt(quality))
                    deal_stage = won_stage if won else lost_stage
                    closed_at, reason = closes, "" if won else str(rng.choice(LOST_REASONS))
                    if won:
                        cause_name = caused_by.get(lead_id, "base")
                        won_by_cause[cause_name] = won_by_cause.get(cause_name, 0.0) + float(amount)
                        stage = "customer"
                        history.append(("customer", closes))
                deal_rows.append(Deal(
                    id=deal_id, lead_id=lead_id, name=f"{company} - Analytics platform",
                    amount=amount, stage=deal_stage, close_reason=reason, closed_at=closed_at,
                    owner=owner, opportunity_created_at=opened,
                    expected_close_date=closes.date(),
                ))  # fmt: skip
                deal_id += 1
            elif contacted and rng.random() < 0.12:
                stage = "disqualified"
                history.append(("disqualified", created + timedelta(days=2)))
            for (old, _), (new, at) in itertools.pairwise(history):
                history_rows.append(
                    LeadHistory(lead_id=lead_id, field="stage", old=old, new=new, by=owner, at=at)
                )
            history_rows.append(
                LeadHistory(lead_id=lead_id, field="owner", old="", new=str(owner.pk), at=created)
            )
            lead_rows.append(Lead(
                id=lead_id, email=email, first_name=first_name, last_name=last_name,
                company=company, form=form, stage=stage, owner=owner,
                first_touch_id=first_touch_id, creation_touch_id=creation_touch_id,
                first_channel_id=first_source[0], first_campaign_id=first_source[1],
                latest_touch_id=touch_id - 1, created_at=created,
                heard_about=said, heard_about_other=said_other,
                consent_given=bool(rng.random() < 0.6),
                first_contacted_at=first_contact if contacted else None,
                last_contacted_at=last_contact if contacted else None,
            ))  # fmt: skip
            if len(touch_rows) >= 200_000:
                # Foreign keys are checked at commit, so touches may go before their leads.
                bulk.insert(Touchpoint, touch_rows)
                written["touchpoints"] += len(touch_rows)
                touch_rows = []
            if (n + 1) % chunk == 0 and n + 1 < leads:
                rows = (lead_rows, visitor_rows, sub_rows, touch_rows, activity_rows,
                        feedback_rows, history_rows)  # fmt: skip
                _write_journeys(*rows, written=written)
                for done in rows:
                    done.clear()
            if n % 500 == 0:
                progress.update(n)
        progress.done()

        accounts = _accounts(
            names=account_names, lead_account=lead_account, deals=deal_rows, reps=reps,
            rng=account_rng,
        )  # fmt: skip
        progress = Progress("writing", 2 + len(accounts))
        _write_journeys(
            lead_rows, visitor_rows, sub_rows, touch_rows, activity_rows, feedback_rows,
            history_rows, written=written,
        )  # fmt: skip
        progress.update(1)
        for i, (model, rows) in enumerate([*accounts[:2], (Deal, deal_rows), *accounts[2:]]):
            bulk.insert(model, rows)
            bulk.reset_sequence(model)
            progress.update(i + 2)
        progress.done()
        counts.update(
            leads=written["leads"], touchpoints=written["touchpoints"], deals=len(deal_rows),
            won_deals=sum(1 for d in deal_rows if d.stage_id == won_stage.pk),
            activities=written["activities"], feedback=written["feedback"],
            accounts=len(account_names),
        )  # fmt: skip
    _log_truth(log, plan=plan, scale=scale, won=won_by_cause)
    bulk.analyze([Lead, Visitor, Submission, Touchpoint, Deal, Activity, LeadFeedback, LeadHistory])

    started = time.perf_counter()
    counts["daily_counts"] = rollups.rebuild()  # the bulk paths send no save signals
    log(
        f"  dashboard rollups: {counts['daily_counts']:,} rows in {time.perf_counter() - started:.1f}s"
    )

    counts["tasks"] = _follow_ups(now=now)

    with transaction.atomic():
        counts.update(nurture_demo(now=now, rng=rng, log=log))
    if not run:
        return counts
    started = time.perf_counter()
    log("  attribution run (all models) ...")
    run = run_create(created_by=marketer)
    run.refresh_from_db()
    counts["attribution_run"] = run.pk
    log(f"  attribution run #{run.pk}: {run.status} in {time.perf_counter() - started:.1f}s")
    # The same over the buying groups' touches, so the dashboard's scope switch has both.
    started = time.perf_counter()
    account_run = run_create(created_by=marketer, scope="account")
    account_run.refresh_from_db()
    counts["account_attribution_run"] = account_run.pk
    log(
        f"  account-scoped attribution run #{account_run.pk}: {account_run.status} "
        f"in {time.perf_counter() - started:.1f}s"
    )
    counts.update(_insights(log))
    return counts


def _log_truth(
    log: Callable[[str], None], *, plan: mix_truth.Plan, scale: float, won: dict[str, float]
) -> None:
    """What each channel truly brought (to compare with a mix model fit): leads per 1,000 USD
    from the truth's curves, and the won revenue of the leads it brought per unit of spend."""
    leads = plan.true_return(scale) * 1000
    spent = plan.channel_spend.sum()
    parts = [
        f"{name} {leads[name]:.2f} leads/1k, ROI {won.get(name, 0.0) / spent[name] - 1:+.0%}"
        for name in leads.index
    ]
    log("  true return per channel: " + "; ".join(parts))


ROLES = ["decision_maker", "champion", "influencer", "user", "other"]


def _accounts(
    *, names: list[str], lead_account: dict[int, int], deals: list, reps: list, rng: Any
) -> list[tuple[Any, list]]:
    """Rows of the accounts, their domains and people, and the deals' buying groups: every
    deal gets its account, its lead as primary contact, and up to three colleagues with roles."""
    # A domain some account already holds (an earlier seed) keeps that account.
    domain_of = [f"{name.lower().replace(' ', '')}.example" for name in names]
    held = dict(AccountDomain.objects.filter(domain__in=domain_of).values_list("domain", "account"))
    fresh = iter(bulk.next_ids(Account, sum(1 for d in domain_of if d not in held)))
    ids = [held[d] if d in held else next(fresh) for d in domain_of]
    accounts = [
        Account(
            id=ids[i], name=name, name_key=company_key(name), owner=reps[i % len(reps)],
            is_target=i % 4 == 0, tier=str(1 + i % 3) if i % 2 == 0 else "",
        )
        for i, name in enumerate(names)
        if domain_of[i] not in held
    ]  # fmt: skip
    domains = [
        AccountDomain(account_id=ids[i], domain=domain)
        for i, domain in enumerate(domain_of)
        if domain not in held
    ]
    people: dict[int, list[int]] = {}
    for lead_id, index in lead_account.items():
        people.setdefault(index, []).append(lead_id)
    contacts = [
        AccountContact(lead_id=lead_id, account_id=ids[index], matched_by="domain")
        for lead_id, index in lead_account.items()
    ]
    group = []
    for deal in deals:
        index = lead_account[deal.lead_id]
        deal.account_id = ids[index]
        group.append(DealContact(deal_id=deal.id, lead_id=deal.lead_id, role="decision_maker",
                                 is_primary=True))  # fmt: skip
        colleagues = [p for p in people[index] if p != deal.lead_id][:3]
        for k, lead_id in enumerate(colleagues):
            role = ROLES[1 + (k + int(rng.integers(4))) % 4]
            group.append(DealContact(deal_id=deal.id, lead_id=lead_id, role=role))
    return [
        (Account, accounts),
        (AccountDomain, _with_ids(AccountDomain, domains, bulk)),
        (AccountContact, _with_ids(AccountContact, contacts, bulk)),
        (DealContact, _with_ids(DealContact, group, bulk)),
    ]


def _follow_ups(*, now: Any) -> int:
    """Each owner's "My day": an overdue, a due-today and an upcoming follow-up on their
    newest open leads (reminders of the past counted as sent, so the demo mails nobody)."""
    rows = []
    owner_ids = set(Lead.objects.filter(owner__isnull=False).values_list("owner_id", flat=True))
    for owner_id in sorted(owner_ids):
        leads = Lead.objects.filter(owner_id=owner_id, stage__in=["new", "contacted"]).order_by(
            "-created_at", "-id"
        )[:3]
        for lead, (kind, title, due) in zip(leads, [
            (Task.Kind.CALL, "Call back {}", now - timedelta(days=1, hours=2)),
            (Task.Kind.EMAIL, "Send the proposal to {}", now + timedelta(hours=1)),
            (Task.Kind.MEETING, "Demo with {}", now + timedelta(days=3)),
        ], strict=False):  # fmt: skip
            rows.append(Task(
                lead=lead, assignee_id=owner_id, created_by_id=owner_id, kind=kind,
                title=title.format(lead.display_name), due_at=due,
                reminder_sent_at=due if due < now else None,
            ))  # fmt: skip
    Task.objects.bulk_create(rows)
    return len(rows)


def _insights(log: Callable[[str], None]) -> dict[str, int]:
    """Lead scores, then alerts: budget advice and intervals followed the run already."""

    started = time.perf_counter()
    try:
        version = scoring_train()
    except NotEnoughData as exc:
        log(f"  lead scoring skipped: {exc}")
        return {}
    alerts = alerts_check_all()
    log(
        f"  lead scoring v{version.pk}: AUC {version.metrics['auc']:.3f} on "
        f"{version.metrics['n_test']} held-out leads, {version.scored_leads} open leads scored, "
        f"{alerts} alerts in {time.perf_counter() - started:.1f}s"
    )
    return {"scored_leads": version.scored_leads, "alerts": alerts}


def _with_ids(model: Any, rows: list, bulk: Any) -> list:
    for pk, row in zip(bulk.next_ids(model, len(rows)), rows, strict=True):
        row.pk = pk
    return rows


def _write_journeys(
    leads: list,
    visitors: list,
    submissions: list,
    touches: list,
    activities: list,
    feedback: list,
    history: list,
    *,
    written: dict[str, int],
) -> None:
    """Write one chunk of leads with everything of theirs, by COPY (bulk_create elsewhere).

    Every column is set already: leads carry their first, creation and latest touch, though
    those touches may be written after them (foreign keys are deferred to the check below). On
    PostgreSQL the chunk's deferred checks run now, so the queue of pending checks (and the
    server's memory) stays the size of a chunk, and a bad row fails its own chunk."""
    from django.db import connection

    for model, rows in [
        (Lead, leads), (Visitor, visitors), (Submission, submissions), (Touchpoint, touches),
        (Activity, _with_ids(Activity, activities, bulk)),
        (LeadFeedback, _with_ids(LeadFeedback, feedback, bulk)),
        (LeadHistory, _with_ids(LeadHistory, history, bulk)),
    ]:  # fmt: skip
        bulk.insert(model, rows)
        bulk.reset_sequence(model)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    written["leads"] += len(leads)
    written["touchpoints"] += len(touches)
    written["activities"] += len(activities)
    written["feedback"] += len(feedback)
