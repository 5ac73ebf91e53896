"""Pure, vectorised multi-touch attribution engine: DataFrames in, credit DataFrames out.

No Django/ORM here, so it runs the same in a view, a Celery task or a notebook.

Inputs
------
``touches``: ``touch_id`` int64 (>= 0), ``lead_id`` int64, ``ts`` datetime (UTC), ``channel``
str, ``campaign_id`` nullable Int64 (optional), ``is_lead_creation`` bool (optional, False).
``conversions``: ``conversion_id`` int64 (unique), ``lead_id``, ``ts``, ``value_cents`` int64,
``milestone`` in {"lead", "opportunity", "deal"} (optional, "deal"), ``opportunity_ts``
nullable (optional). ``members`` (optional): ``conversion_id``, ``lead_id`` pairs naming more
people whose touches count for a conversion (account scope). Naive timestamps are read as UTC.
Channel names may not contain ``">"`` or ``"|"`` (Markov state / Shapley coalition separators).

Documented choices
------------------
* Journey: the lead's touches in ``[conversion.ts - lookback, conversion.ts]`` ordered by
  ``(ts, touch_id)``; touches after the conversion are excluded. ``lookback_days=None`` means
  unbounded. One journey per conversion, so a lead converting at several milestones has several.
* Account journeys (``members`` given): a conversion's journey is the merged touches of its lead
  and its members in the same window, ordered the same way; credit rows keep ``lead_id`` (the
  converting lead) and ``touch_lead_id`` (whose touch, -1 for the synthetic one). The
  lead-creation role is the earliest flagged touch of any of them. Members have no null path.
* No touch in the window: a synthetic credit row with ``touch_id = -1``, channel ``"Direct"``,
  ``campaign_id = <NA>`` and the conversion's ``ts`` receives 100%, so credits are conserved.
* Roles: the lead-creation touch is the earliest flagged touch in the journey; the
  opportunity-creation touch is the last journey touch with ``ts <= opportunity_ts``; full path's
  "last touch before the deal was won" is the journey's last touch.
* Degenerate journeys: roles on the same touch add up on it; a missing role (or an empty "rest"
  pool) has its weight redistributed proportionally over the roles present, i.e. each journey's
  weights are divided by their own total. position_based on 2 touches therefore gives
  ``first/(first+last)`` and ``last/(first+last)`` and on 1 touch 100%. If all present roles
  weigh 0 the journey falls back to linear. A repeated channel is just more touches.
* Markov / Shapley split ("per journey", not "over the total"): each converting journey's value
  is divided among the channels present in *that* journey in proportion to their global removal
  effect (Shapley value), and within a channel evenly among its touches; all-zero effects fall
  back to linear. Credits thus stay tied to real touches and conserve every conversion exactly;
  channel totals are not forced to equal the global shares.
* Paths for Markov/Shapley: one per conversion with touches (synthetic rows excluded) plus one
  null path per lead with touches but no conversion in the data given, made of its touches in
  the lookback window ending at its last touch. Partition by lead id for map/reduce.
* Markov: exact absorbing-chain removal effects (``markov`` module), order k states are k-tuples
  of channels (dense solver, at most ``markov.MAX_STATES`` states). Shapley:
  ``v(S) = sum of conversions (or value) of journeys whose channel set is a subset of S``,
  exact over all subsets, ``ValueError`` beyond ``max_channels`` (``shapley``).
* Money: shares are float64 summing to 1 per conversion; cents are integers allocated by the
  largest-remainder method, exact per conversion (``money``). Rows with zero share are omitted.
"""

from attribution.engine.core import (
    CREDIT_COLUMNS,
    DEFAULT_PARAMS,
    MODELS,
    attribute,
    attribute_all,
    effect_weights,
    model_params,
    path_counts,
)
from attribution.engine.journeys import DIRECT, NO_TOUCH_ID
from attribution.engine.markov import (
    combine_transition_counts,
    markov_channel_shares,
    markov_removal_effects,
    markov_transition_counts,
)
from attribution.engine.money import allocate_cents
from attribution.engine.shapley import (
    combine_coalition_counts,
    shapley_coalition_counts,
    shapley_values,
)

__all__ = [
    "CREDIT_COLUMNS",
    "DEFAULT_PARAMS",
    "DIRECT",
    "MODELS",
    "NO_TOUCH_ID",
    "allocate_cents",
    "attribute",
    "attribute_all",
    "combine_coalition_counts",
    "combine_transition_counts",
    "effect_weights",
    "markov_channel_shares",
    "markov_removal_effects",
    "markov_transition_counts",
    "model_params",
    "path_counts",
    "shapley_coalition_counts",
    "shapley_values",
]
