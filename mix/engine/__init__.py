"""The marketing mix model's maths: pure numpy/scipy/pandas, no Django."""

from mix.engine.model import LiftTest, Priors
from mix.engine.optimise import Proposal, optimise, optimise_curves
from mix.engine.simulate import Truth, media_response, simulate, spend_pattern
from mix.engine.summary import (
    MixFit,
    contributions,
    diminishing_point,
    fit,
    marginal_returns,
    recent_spend,
    response_curves,
    roas_table,
)

__all__ = [
    "LiftTest",
    "MixFit",
    "Priors",
    "Proposal",
    "Truth",
    "contributions",
    "diminishing_point",
    "fit",
    "marginal_returns",
    "media_response",
    "optimise",
    "optimise_curves",
    "recent_spend",
    "response_curves",
    "roas_table",
    "simulate",
    "spend_pattern",
]
