"""The arithmetic of a health score, with no Django in it: raw value to 0-100, weights, contributions, bands.

A measure's thresholds are the raw values that score 0, 50 and 100; between them the score is linear, beyond
them it stays at 0 or 100. They may run downwards (three open tickets score 0, none scores 100).
A measure without data is left out and the weights of the others are scaled up to fill its share.
"""

from dataclasses import dataclass, field
from typing import Any

# Seed 001 ("Monitoring customer health, usage, and risk"): at risk below 40, watch below 70, healthy from 70.
BAND_THRESHOLDS = (40, 70)

MEASURE_UNITS = {
    "usage_trend": "% change, last 14 days vs the 14 before",
    "active_users": "average daily users, last 7 days",
    "feature_adoption": "features used in the last 90 days",
    "support_load": "open tickets",
    "sla_breaches": "SLA breaches in the last 90 days",
    "engagement_recency": "days since the last note, meeting or QBR",
    "failed_payments": "unpaid invoices past due, last 90 days",
    "mrr_trend": "% MRR change over 90 days",
    "onboarding": "% of onboarding steps done",
    "csm_sentiment": "CSM sentiment, 1 to 5",
}

# (type, weight, thresholds for 0 / 50 / 100)
DEFAULT_MEASURES: list[dict[str, Any]] = [
    {"type": "usage_trend", "weight": 20, "thresholds": [-30, 0, 20]},
    {"type": "active_users", "weight": 15, "thresholds": [0, 5, 20]},
    {"type": "feature_adoption", "weight": 15, "thresholds": [0, 3, 6]},
    {"type": "support_load", "weight": 10, "thresholds": [5, 2, 0]},
    {"type": "sla_breaches", "weight": 5, "thresholds": [3, 1, 0]},
    {"type": "engagement_recency", "weight": 10, "thresholds": [90, 30, 7]},
    {"type": "failed_payments", "weight": 10, "thresholds": [2, 1, 0]},
    {"type": "mrr_trend", "weight": 5, "thresholds": [-20, 0, 10]},
    {"type": "onboarding", "weight": 5, "thresholds": [0, 50, 100]},
    {"type": "csm_sentiment", "weight": 5, "thresholds": [1, 3, 5]},
]

# Seed 001's time-to-value: a trial is judged on getting going (onboarding, adoption, usage), not on billing.
TRIAL_MEASURES: list[dict[str, Any]] = [
    {"type": "onboarding", "weight": 25, "thresholds": [0, 50, 100]},
    {"type": "feature_adoption", "weight": 25, "thresholds": [0, 2, 4]},
    {"type": "usage_trend", "weight": 20, "thresholds": [-30, 0, 30]},
    {"type": "active_users", "weight": 15, "thresholds": [0, 2, 5]},
    {"type": "engagement_recency", "weight": 10, "thresholds": [30, 14, 3]},
    {"type": "csm_sentiment", "weight": 5, "thresholds": [1, 3, 5]},
]


def measure_score(value: float, thresholds: list[float]) -> float:
    """0-100 for a raw value, linear between the thresholds for 0, 50 and 100, whichever way they run."""
    low, middle, high = (float(t) for t in thresholds)
    if low > high:  # lower raw values are better: mirror the scale
        value, low, middle, high = -value, -low, -middle, -high
    if value <= low:
        return 0.0
    if value >= high:
        return 100.0
    if value <= middle:
        return 50.0 * (value - low) / (middle - low) if middle > low else 50.0
    return 50.0 + 50.0 * (value - middle) / (high - middle) if high > middle else 100.0


def band_of(score: int) -> str:
    if score < BAND_THRESHOLDS[0]:
        return "at_risk"
    if score < BAND_THRESHOLDS[1]:
        return "watch"
    return "healthy"


@dataclass
class ScoreResult:
    score: int
    band: str
    inputs: dict[str, float]
    contributions: dict[str, dict[str, float]]
    missing: list[str] = field(default_factory=list)


def measures_prepare(measures: list[dict[str, Any]]) -> list[tuple[str, float, list[float]]]:
    """(type, weight, thresholds) of the measures that count (weight above 0), read once per model, not per account."""
    return [
        (m["type"], float(m["weight"]), [float(t) for t in m["thresholds"]]) for m in measures if float(m["weight"]) > 0
    ]


def score_compute(
    *, measures: list[dict[str, Any]] | None = None, inputs: dict[str, float | None], prepared=None
) -> ScoreResult | None:
    """The weighted score of one account, each measure's points (they add up to the score) and the points it lost
    (weight share x (100 - its score)), which rank "what pulls it down". None when no measure has data."""
    prepared = prepared if prepared is not None else measures_prepare(measures or [])
    present, missing = [], []
    for kind, weight, thresholds in prepared:
        value = inputs.get(kind)
        if value is None:
            missing.append(kind)
        else:
            present.append((kind, weight, thresholds, float(value)))
    total_weight = sum(weight for _, weight, _, _ in present)
    if not present or total_weight <= 0:
        return None
    contributions, values = {}, {}
    total = 0.0
    for kind, weight, thresholds, value in present:
        share = weight / total_weight
        measure = measure_score(value, thresholds)
        points = share * measure
        total += points
        values[kind] = round(value, 2)
        contributions[kind] = {
            "score": round(measure, 1),
            "weight": round(share * 100, 2),  # its share after missing measures' weight was redistributed
            "points": round(points, 2),
            "lost": round(share * 100 - points, 2),
        }
    score = max(0, min(100, round(total)))
    return ScoreResult(score=score, band=band_of(score), inputs=values, contributions=contributions, missing=missing)


BANDS = ("at_risk", "watch", "healthy")
# A score must be this many points past a threshold to count as crossing it, so one that wobbles around 70
# (70, 69, 70, 69) raises nothing, and one that slides (71, 69, 67) raises one signal, at 67.
CROSSING_MARGIN = 2


def band_crossed(signalled_band: str | None, score: int) -> tuple[int, str] | None:
    """The band threshold a score has clearly crossed since the band last signalled, and which way: going down the
    lowest one crossed (the most serious), going up the highest. None when it has not, or nothing was signalled."""
    if signalled_band not in BANDS:
        return None
    old, new = BANDS.index(signalled_band), BANDS.index(band_of(score))
    if new < old:
        threshold = BAND_THRESHOLDS[new]
        return (threshold, "down") if score <= threshold - CROSSING_MARGIN else None
    if new > old:
        threshold = BAND_THRESHOLDS[new - 1]
        return (threshold, "up") if score >= threshold + CROSSING_MARGIN else None
    return None


def measures_validate(measures: list[dict[str, Any]]) -> dict[int, str]:
    """Errors by row index, in the words the editor shows; empty when the model is usable."""
    errors: dict[int, str] = {}
    seen = set()
    for index, measure in enumerate(measures):
        kind = measure.get("type")
        if kind not in MEASURE_UNITS:
            errors[index] = "Choose a measure type."
            continue
        if kind in seen:
            errors[index] = "This measure is already in the model; each type may appear once."
            continue
        seen.add(kind)
        weight = measure.get("weight")
        if not isinstance(weight, int | float) or weight < 0 or weight > 100:
            errors[index] = "Weight must be a number from 0 to 100."
            continue
        thresholds = measure.get("thresholds") or []
        if len(thresholds) != 3 or not all(isinstance(t, int | float) for t in thresholds):
            errors[index] = "Give three numbers: the raw values that score 0, 50 and 100."
            continue
        low, middle, high = thresholds
        if not (low < middle < high or low > middle > high):
            errors[index] = "Thresholds must run one way: 0 < 50 < 100, or downwards when less is better."
    if not errors and not any(float(m["weight"]) > 0 for m in measures):
        errors[-1] = "Give at least one measure a weight above 0."
    return errors
