"""The known truth behind the demo's spend and leads, in one place.

Each paid channel brings leads per week through the marketing mix model's own form (geometric
carry-over, then exponential saturation: `mix.engine.media_response`), on top of a baseline of
organic leads; the demo generator draws its leads from these figures, and a test fits weekly
data made from them and checks that the fit finds them again. Revenue then comes from the
leads through the demo's usual conversion and deal logic (quality and deal size per campaign).

The figures are for the small demo (1,500 leads over about two years); another size scales the
most leads per week and the baseline by the same factor (decay and saturation stay).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mix.engine import media_response, spend_pattern

WEEKS = 105  # two years and a week: CLM_MIX_WEEKS (104) whole weeks fit in
REFERENCE_LEADS = 1_500
BASELINE_LEADS = 7.5  # organic leads per week, before seasonality
SEASONALITY = 0.1  # +-10% over the year, on the baseline


@dataclass(frozen=True)
class ChannelTruth:
    decay: float  # share of a week's effect carried to the next week
    half_saturation: float  # weekly spend (USD) at which the channel brings half its most
    max_leads: float  # the most leads per week the channel can bring

    @property
    def k(self) -> float:
        """The engine's saturation scale: beta (1 - e^(-x/k)) is half of beta at x = k ln 2."""
        return self.half_saturation / float(np.log(2.0))


CHANNELS: dict[str, ChannelTruth] = {
    "Paid Search": ChannelTruth(decay=0.2, half_saturation=2_500, max_leads=5.0),
    "Paid Social": ChannelTruth(decay=0.45, half_saturation=5_000, max_leads=3.75),
    "Display": ChannelTruth(decay=0.3, half_saturation=1_800, max_leads=1.5),
    "Paid Video": ChannelTruth(decay=0.6, half_saturation=1_500, max_leads=1.25),
    "Email": ChannelTruth(decay=0.1, half_saturation=80, max_leads=1.5),
    "Affiliates": ChannelTruth(decay=0.25, half_saturation=500, max_leads=1.25),
    "Event": ChannelTruth(decay=0.5, half_saturation=900, max_leads=2.0),
}


@dataclass(frozen=True)
class CampaignSpec:
    name: str
    utm_campaign: str
    source: str
    medium: str
    daily_spend: float  # its usual spend per day, USD
    quality: float  # how much more likely than average its leads become opportunities
    deal_mean: float
    weight: float  # share of journeys touching it (besides the touch that brought the lead)
    channel: str  # the channel the default rules put it in
    style: str  # how it spends week to week (mix.engine.spend_pattern)


# Campaigns of one channel spend differently, and so do channels: no two channels' spend moves
# together, and every channel has weeks of heavy, light and no spend.
CAMPAIGNS = [
    CampaignSpec("Search - Brand", "search_brand", "google", "cpc", 120, 1.7, 9_000, 1.3, "Paid Search", "always"),
    CampaignSpec("Search - Generic", "search_generic", "google", "cpc", 320, 0.9, 7_000, 1.6, "Paid Search", "paused"),
    CampaignSpec("LinkedIn ABM", "linkedin_abm", "linkedin", "paid_social", 380, 1.4, 19_000, 0.8, "Paid Social", "always"),
    CampaignSpec("Facebook Prospecting", "fb_prospecting", "facebook", "paid_social", 260, 0.3, 3_000, 1.4, "Paid Social", "bursts"),
    CampaignSpec("Display Retargeting", "display_retargeting", "gdn", "display", 190, 0.45, 4_000, 1.0, "Display", "flighting"),
    CampaignSpec("YouTube Awareness", "youtube_awareness", "youtube", "cpv", 160, 0.35, 5_000, 0.6, "Paid Video", "paused"),
    CampaignSpec("Monthly Newsletter", "newsletter", "newsletter", "email", 12, 1.25, 6_000, 1.2, "Email", "always"),
    CampaignSpec("Partner Program", "partner_program", "partnerstack", "affiliate", 55, 1.1, 8_000, 0.5, "Affiliates", "paused"),
    CampaignSpec("Trade Show Booth", "tradeshow_booth", "saastr", "event", 95, 1.6, 21_000, 0.3, "Event", "bursts"),
]  # fmt: skip


@dataclass
class Plan:
    """Weekly spend per campaign and channel, and the expected leads per week of each cause
    ("base" and every paid channel), at the truth's scale."""

    campaign_spend: pd.DataFrame  # weeks x campaign key (utm_campaign), USD
    channel_spend: pd.DataFrame  # weeks x channel, USD
    expected: pd.DataFrame  # weeks x ("base", channels...), leads
    channel_of: dict[str, str]  # utm_campaign: channel

    def true_return(self, scale: float = 1.0) -> pd.Series:
        """Leads per unit of spend each channel brought over the weeks (scaled like the demo)."""
        channels = self.channel_spend.columns
        spent = self.channel_spend.sum().replace(0.0, np.nan)
        return (self.expected[channels].sum() * scale / spent).dropna()


def plan(
    rng: np.random.Generator,
    *,
    weeks: int = WEEKS,
    start: str = "2024-01-01",
    channel_of: dict[str, str] | None = None,
) -> Plan:
    """Weekly spend of each campaign and the expected leads of each cause: the baseline with
    yearly seasonality, and each channel's response to its spend. `channel_of` maps a
    campaign's utm_campaign to its channel's name where the rules say otherwise."""
    columns = {}
    for spec in CAMPAIGNS:
        columns[spec.utm_campaign] = spend_pattern(rng, weeks, spec.daily_spend * 7, spec.style)
    index = pd.date_range(start, periods=weeks, freq="7D")
    campaign_spend = pd.DataFrame(columns, index=index)
    channel_of = {s.utm_campaign: s.channel for s in CAMPAIGNS} | (channel_of or {})
    channel_spend = campaign_spend.T.groupby(channel_of).sum().T
    names = [c for c in channel_spend.columns if c in CHANNELS]
    channel_spend = channel_spend[names]
    truth = [CHANNELS[c] for c in names]
    response = media_response(
        channel_spend.to_numpy(),
        decay=np.array([t.decay for t in truth]),
        beta=np.array([t.max_leads for t in truth]),
        k=np.array([t.k for t in truth]),
    )
    t = np.arange(weeks)
    base = BASELINE_LEADS * (1 + SEASONALITY * np.sin(2 * np.pi * t / 52.1775))
    expected = pd.DataFrame(response, index=index, columns=names)
    expected.insert(0, "base", base)
    return Plan(
        campaign_spend=campaign_spend,
        channel_spend=channel_spend,
        expected=expected,
        channel_of=channel_of,
    )
