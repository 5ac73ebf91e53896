"""The default channel group: GA4's published rules plus three CRM channels for offline touches.

GA4 definitions follow the "[GA4] Default channel group" help page (answer 9756891). GA4 ORs
conditions inside one channel; here each alternative is its own rule, consecutive and for the
same channel, because rules are evaluated in order and the first match wins.
"""

from __future__ import annotations

from typing import Final

from campaigns.channeling import UNASSIGNED, Channel, Condition, Rule

# GA4's regexes, verbatim; the classifier applies them as case-insensitive full matches.
PAID_MEDIUM_REGEX: Final = r"^(.*cp.*|ppc|retargeting|paid.*)$"
SHOPPING_CAMPAIGN_REGEX: Final = r"^(.*(([^a-df-z]|^)shop|shopping).*)$"
VIDEO_MEDIUM_REGEX: Final = r"^(.*video.*)$"

DIRECT_MEDIUMS: Final = ("(not set)", "(none)", "")
DISPLAY_MEDIUMS: Final = ("display", "banner", "expandable", "interstitial", "cpm")
SOCIAL_MEDIUMS: Final = (
    "social",
    "social-network",
    "social-media",
    "sm",
    "social network",
    "social media",
)
REFERRAL_MEDIUMS: Final = ("referral", "app", "link")
EMAIL_VALUES: Final = ("email", "e-mail", "e_mail", "e mail")

# CRM-only mediums, set by sales staff when they log an offline touch by hand.
SALES_CALL_MEDIUMS: Final = (
    "call",
    "phone",
    "phone call",
    "phone-call",
    "phone_call",
    "sales call",
    "sales-call",
    "sales_call",
    "cold call",
    "cold-call",
    "cold_call",
    "telesales",
    "telemarketing",
)
EVENT_MEDIUMS: Final = (
    "event",
    "events",
    "tradeshow",
    "trade show",
    "trade-show",
    "trade_show",
    "tradefair",
    "trade fair",
    "trade-fair",
    "conference",
    "expo",
    "exhibition",
    "seminar",
    "webinar",
    "meetup",
    "roadshow",
)
OFFLINE_MEDIUMS: Final = (
    "offline",
    "import",
    "imported",
    "offline import",
    "offline-import",
    "offline_import",
    "csv import",
    "csv-import",
    "csv_import",
)

DEFAULT_CHANNELS: Final[tuple[Channel, ...]] = (
    Channel("Direct", "Typed URL, bookmark, or a visit without any referrer or tags.", False),
    Channel("Cross-network", "Ads served across several networks (Performance Max).", True),
    Channel("Paid Shopping", "Paid ads on shopping sites or shopping campaigns.", True),
    Channel("Paid Search", "Paid ads on search engines (Google Ads, Microsoft Ads...).", True),
    Channel("Paid Social", "Paid ads on social networks.", True),
    Channel("Paid Video", "Paid ads on video sites.", True),
    Channel("Display", "Display, banner and interstitial ads.", True),
    Channel("Paid Other", "Other paid traffic (cpc, ppc, retargeting, paid...).", True),
    Channel("Organic Shopping", "Unpaid listings on shopping sites.", False),
    Channel("Organic Social", "Unpaid links and posts on social networks.", False),
    Channel("Organic Video", "Unpaid links on video sites.", False),
    Channel("Organic Search", "Unpaid search engine results.", False),
    Channel("Referral", "Links on other websites and apps.", False),
    Channel("Email", "Links in email messages.", False),
    Channel("Affiliates", "Affiliate and partner programmes.", True),
    Channel("Audio", "Audio ads (podcasts, streaming radio).", True),
    Channel("SMS", "Links in text messages.", False),
    Channel("Mobile Push Notifications", "Mobile app push notifications.", False),
    Channel("Sales call", "A phone call logged by sales (CRM only).", False),
    Channel("Event", "Trade shows, conferences, webinars and other events (CRM only).", False),
    Channel("Offline/Imported", "Offline touches or records imported from elsewhere.", False),
    Channel(UNASSIGNED, "Nothing matched any rule.", False),
)


def _when(field: str, op: str, value: str | tuple[str, ...]) -> Condition:
    """Shorthand for a Condition."""
    return Condition(field, op, value)


_PAID = _when("medium", "regex", PAID_MEDIUM_REGEX)
_SHOP_CAMPAIGN = _when("campaign", "regex", SHOPPING_CAMPAIGN_REGEX)

DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "direct",
        "Direct",
        (_when("source", "exact", "(direct)"), _when("medium", "in", DIRECT_MEDIUMS)),
    ),
    # The CRM mediums come straight after Direct: no GA4 rule can match them earlier (none of
    # them is paid, display or social), but later the source-category rules would win — a call
    # to a lead found on LinkedIn is a sales call, not Organic Social.
    Rule("sales-call", "Sales call", (_when("medium", "in", SALES_CALL_MEDIUMS),)),
    Rule("event", "Event", (_when("medium", "in", EVENT_MEDIUMS),)),
    Rule("offline-imported", "Offline/Imported", (_when("medium", "in", OFFLINE_MEDIUMS),)),
    Rule("cross-network", "Cross-network", (_when("campaign", "contains", "cross-network"),)),
    Rule("paid-shopping-source", "Paid Shopping", (_when("source", "category", "SHOPPING"), _PAID)),
    Rule("paid-shopping-campaign", "Paid Shopping", (_SHOP_CAMPAIGN, _PAID)),
    Rule("paid-search", "Paid Search", (_when("source", "category", "SEARCH"), _PAID)),
    Rule("paid-social", "Paid Social", (_when("source", "category", "SOCIAL"), _PAID)),
    Rule("paid-video", "Paid Video", (_when("source", "category", "VIDEO"), _PAID)),
    Rule("display", "Display", (_when("medium", "in", DISPLAY_MEDIUMS),)),
    Rule("paid-other", "Paid Other", (_PAID,)),
    Rule("organic-shopping-source", "Organic Shopping", (_when("source", "category", "SHOPPING"),)),
    Rule("organic-shopping-campaign", "Organic Shopping", (_SHOP_CAMPAIGN,)),
    Rule("organic-social-source", "Organic Social", (_when("source", "category", "SOCIAL"),)),
    Rule("organic-social-medium", "Organic Social", (_when("medium", "in", SOCIAL_MEDIUMS),)),
    Rule("organic-video-source", "Organic Video", (_when("source", "category", "VIDEO"),)),
    Rule("organic-video-medium", "Organic Video", (_when("medium", "regex", VIDEO_MEDIUM_REGEX),)),
    Rule("organic-search-source", "Organic Search", (_when("source", "category", "SEARCH"),)),
    Rule("organic-search-medium", "Organic Search", (_when("medium", "exact", "organic"),)),
    Rule("referral", "Referral", (_when("medium", "in", REFERRAL_MEDIUMS),)),
    Rule("email-source", "Email", (_when("source", "in", EMAIL_VALUES),)),
    Rule("email-medium", "Email", (_when("medium", "in", EMAIL_VALUES),)),
    Rule("affiliates", "Affiliates", (_when("medium", "exact", "affiliate"),)),
    Rule("audio", "Audio", (_when("medium", "exact", "audio"),)),
    Rule("sms-source", "SMS", (_when("source", "exact", "sms"),)),
    Rule("sms-medium", "SMS", (_when("medium", "exact", "sms"),)),
    Rule(
        "push-medium-suffix", "Mobile Push Notifications", (_when("medium", "ends_with", "push"),)
    ),
    Rule(
        "push-medium-mobile", "Mobile Push Notifications", (_when("medium", "contains", "mobile"),)
    ),
    Rule(
        "push-medium-notification",
        "Mobile Push Notifications",
        (_when("medium", "contains", "notification"),),
    ),
    Rule(
        "push-source-firebase",
        "Mobile Push Notifications",
        (_when("source", "exact", "firebase"),),
    ),
)
