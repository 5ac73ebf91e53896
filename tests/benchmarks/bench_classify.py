"""Throughput of extract_facts + classify with the default rules over a realistic touch mix.

Run: ``.venv/bin/python tests/benchmarks/bench_classify.py`` (not a pytest test).
``run()`` returns the figures as a dict for the project's benchmark table.
"""

from __future__ import annotations

import random
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

Touch = dict[str, Any]


def _token(rng: random.Random, size: int) -> str:
    """A random URL-safe token, like a click id or a session value."""
    return "".join(rng.choices(string.ascii_letters + string.digits + "_-", k=size))


def _touch_mix(rng: random.Random) -> list[tuple[int, Callable[[], Touch]]]:
    """Generators of realistic touches; click ids and paths are unique per touch."""
    engines = [
        "https://www.google.com/",
        "https://www.google.co.uk/",
        "https://www.google.de/",
        "https://www.bing.com/search?q=",
        "https://duckduckgo.com/",
        "https://yandex.ru/search/?text=",
        "https://search.yahoo.com/search?p=",
    ]
    socials = [
        "https://m.facebook.com/",
        "https://l.instagram.com/?u=",
        "https://t.co/",
        "https://www.linkedin.com/feed/",
        "https://www.reddit.com/r/sales/",
        "https://www.youtube.com/watch?v=",
    ]
    blogs = [f"https://blog{n}.example{n % 37}.org/posts/" for n in range(400)]
    redirectors = [
        "https://checkout.stripe.com/c/pay/",
        "https://www.paypal.com/checkoutnow?token=",
        "https://mail.google.com/mail/u/0/",
        "https://outlook.live.com/mail/0/",
    ]
    landing = "https://www.acme-crm.com/pricing"
    utm_sets = [
        ("newsletter", "email", "2024-spring"),
        ("linkedin", "paid_social", "abm-q2"),
        ("google", "cpc", "brand"),
        ("capterra", "ppc", "listing"),
        ("partner", "affiliate", "reseller"),
        ("hubspot", "tradeshow", "saastr-2024"),
    ]

    def organic() -> Touch:
        return {"referrer": rng.choice(engines) + _token(rng, 12), "landing_url": landing}

    def direct() -> Touch:
        return {"landing_url": landing + "?ref=" + _token(rng, 6)}

    def paid_click() -> Touch:
        param = rng.choice(["gclid", "gclid", "wbraid", "msclkid"])
        return {
            "landing_url": f"{landing}?{param}={_token(rng, 40)}&utm_campaign=brand",
            "referrer": rng.choice(engines),
        }

    def social() -> Touch:
        return {"referrer": rng.choice(socials) + _token(rng, 10), "landing_url": landing}

    def fbclid() -> Touch:
        return {"landing_url": f"{landing}?fbclid=IwAR{_token(rng, 60)}"}

    def tagged() -> Touch:
        source, medium, campaign = rng.choice(utm_sets)
        url = f"{landing}?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
        return {"landing_url": url + "&x=" + _token(rng, 8)}

    def form_fields() -> Touch:
        source, medium, campaign = rng.choice(utm_sets)
        return {"utm_source": source, "utm_medium": medium, "utm_campaign": campaign}

    def own() -> Touch:
        return {
            "referrer": "https://www.acme-crm.com/blog/" + _token(rng, 8),
            "landing_url": landing,
            "own_domains": ("acme-crm.com",),
        }

    def referral() -> Touch:
        return {"referrer": rng.choice(blogs) + _token(rng, 8), "landing_url": landing}

    def redirect() -> Touch:
        return {"referrer": rng.choice(redirectors) + _token(rng, 16), "landing_url": landing}

    def garbage() -> Touch:
        return {
            "referrer": rng.choice(["http://[::1", "%%%", "javascript:alert(1)", "\x00\x00"]),
            "landing_url": "https://e.com/?utm_source=%zz&" + _token(rng, 30),
            "utm_medium": rng.choice(["", "   ", "\uff23\uff30\uff23"]),
        }

    # Weights follow a typical B2B site's traffic split.
    return [
        (28, organic),
        (14, direct),
        (14, paid_click),
        (10, social),
        (5, fbclid),
        (10, tagged),
        (5, form_fields),
        (5, own),
        (5, referral),
        (2, redirect),
        (2, garbage),
    ]


def make_touches(count: int, seed: int) -> list[Touch]:
    """Build ``count`` touches drawn from the weighted mix."""
    rng = random.Random(seed)
    mix = _touch_mix(rng)
    weights = [weight for weight, _ in mix]
    makers = [maker for _, maker in mix]
    return [rng.choices(makers, weights)[0]() for _ in range(count)]


def run(count: int = 100_000, rounds: int = 3) -> dict[str, Any]:
    """Time extract_facts + classify; return the throughput figures."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from campaigns.channeling import classify, compile_rules
    from campaigns.default_rules import DEFAULT_RULES
    from campaigns.source_categories import default_categories
    from campaigns.touch_facts import extract_facts

    categories = default_categories()
    compiled = compile_rules(DEFAULT_RULES, categories)
    timings: list[float] = []
    channels: dict[str, int] = {}
    for round_number in range(rounds):
        # Fresh strings every round, so no round benefits from the previous one's exact inputs.
        touches = make_touches(count, seed=round_number)
        start = time.perf_counter()
        for touch in touches:
            match = classify(extract_facts(categories=categories, **touch), compiled)
            if round_number == 0:
                channels[match.channel] = channels.get(match.channel, 0) + 1
        timings.append(time.perf_counter() - start)
    return {
        "touches_per_round": count,
        "rounds": rounds,
        "cold_per_second": round(count / timings[0]),
        "best_per_second": round(count / min(timings)),
        "median_per_second": round(count / sorted(timings)[len(timings) // 2]),
        "mean_microseconds": round(sum(timings) / len(timings) / count * 1e6, 2),
        "channels": dict(sorted(channels.items(), key=lambda item: -item[1])),
    }


def main() -> None:
    """Print the figures."""
    figures = run()
    print(f"touches per round:       {figures['touches_per_round']:,} x {figures['rounds']}")
    print(f"first round (cold):      {figures['cold_per_second']:,} classifications/s")
    print(f"best round:              {figures['best_per_second']:,} classifications/s")
    print(f"mean per classification: {figures['mean_microseconds']} µs")
    for channel, hits in figures["channels"].items():
        print(f"  {channel:<28} {hits:>7,}")


if __name__ == "__main__":
    main()
