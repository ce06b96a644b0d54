"""The arithmetic, with hand-checked numbers: thresholds, weights, missing data, band crossings, validation."""

import pytest

from health.scoring import band_crossed, measure_score, measures_validate, score_compute

MEASURES = [
    {"type": "active_users", "weight": 50, "thresholds": [0, 5, 10]},
    {"type": "support_load", "weight": 30, "thresholds": [4, 2, 0]},  # fewer open tickets is better
    {"type": "csm_sentiment", "weight": 20, "thresholds": [1, 3, 5]},
]


@pytest.mark.parametrize(
    ("value", "thresholds", "expected"),
    [
        (0, [0, 5, 10], 0), (2.5, [0, 5, 10], 25), (5, [0, 5, 10], 50), (7.5, [0, 5, 10], 75), (10, [0, 5, 10], 100),
        (-3, [0, 5, 10], 0), (99, [0, 5, 10], 100),
        (4, [4, 2, 0], 0), (3, [4, 2, 0], 25), (2, [4, 2, 0], 50), (0, [4, 2, 0], 100), (9, [4, 2, 0], 0),
        (-45, [-30, 0, 20], 0), (10, [-30, 0, 20], 75),
    ],
)  # fmt: skip
def test_a_raw_value_maps_linearly_between_the_thresholds_either_way(value, thresholds, expected):
    assert measure_score(value, thresholds) == pytest.approx(expected)


def test_contributions_add_up_to_the_score_and_rank_what_pulls_it_down():
    result = score_compute(measures=MEASURES, inputs={"active_users": 5, "support_load": 0, "csm_sentiment": 1})
    # 50% x 50 + 30% x 100 + 20% x 0 = 25 + 30 + 0
    assert result.score == 55
    assert sum(part["points"] for part in result.contributions.values()) == pytest.approx(55)
    assert result.contributions["csm_sentiment"]["lost"] == 20
    assert result.contributions["active_users"]["lost"] == 25
    assert result.band == "watch"
    assert result.missing == []


def test_a_measure_without_data_is_left_out_and_its_weight_shared():
    result = score_compute(measures=MEASURES, inputs={"active_users": 10, "support_load": 4, "csm_sentiment": None})
    assert result.missing == ["csm_sentiment"]
    # 50 and 30 become 62.5% and 37.5%: 62.5 x 100% + 37.5 x 0%
    assert result.contributions["active_users"]["weight"] == pytest.approx(62.5)
    assert result.contributions["support_load"]["weight"] == pytest.approx(37.5)
    assert result.score == 62  # round(62.5) (banker's rounding of the exact half)
    assert "csm_sentiment" not in result.inputs


def test_no_data_at_all_gives_no_score():
    assert score_compute(measures=MEASURES, inputs={}) is None


@pytest.mark.parametrize(
    ("signalled", "score", "expected"),
    [("healthy", 65, (70, "down")), ("healthy", 30, (40, "down")), ("at_risk", 45, (40, "up")),
     ("at_risk", 80, (70, "up")), ("watch", 60, None), (None, 20, None), ("healthy", 70, None),
     ("healthy", 69, None), ("healthy", 68, (70, "down")), ("watch", 71, None), ("watch", 72, (70, "up")),
     ("watch", 39, None), ("watch", 38, (40, "down"))],
)  # fmt: skip
def test_a_crossing_names_the_most_telling_threshold_and_needs_a_clear_margin(signalled, score, expected):
    assert band_crossed(signalled, score) == expected


def test_the_editor_says_what_is_wrong_with_each_row():
    errors = measures_validate(
        [
            {"type": "active_users", "weight": 10, "thresholds": [0, 5, 5]},
            {"type": "nonsense", "weight": 10, "thresholds": [0, 1, 2]},
            {"type": "support_load", "weight": 101, "thresholds": [3, 1, 0]},
            {"type": "csm_sentiment", "weight": 10, "thresholds": [1, None, 5]},
            {"type": "csm_sentiment", "weight": 10, "thresholds": [1, 3, 5]},
        ]
    )
    assert errors == {
        0: "Thresholds must run one way: 0 < 50 < 100, or downwards when less is better.",
        1: "Choose a measure type.",
        2: "Weight must be a number from 0 to 100.",
        3: "Give three numbers: the raw values that score 0, 50 and 100.",
        4: "This measure is already in the model; each type may appear once.",
    }
    assert measures_validate([{"type": "active_users", "weight": 0, "thresholds": [0, 5, 10]}]) == {
        -1: "Give at least one measure a weight above 0."
    }
