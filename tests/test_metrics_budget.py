"""The review budget's threshold holds on the scores `jingwang score` writes (rounded)."""
import numpy as np

from detector.model.flagging import flags_for, shown
from training.evaluation.metrics import threshold_for_false_flags


def flagged_negatives(y, p, thr):
    return sum(1 for yi, pi in zip(y, p) if yi == 0 and flags_for({"r": shown(pi)}, {"r": thr}))


def test_a_negative_that_rounds_onto_the_threshold_is_not_flagged():
    # 1,000 rows, budget 2 per 1,000: the third-highest negative (0.52996) must stay unflagged,
    # also once written as 0.53
    p = np.r_[[0.9, 0.8, 0.52996, 0.52994], np.full(994, 0.1), [0.95, 0.7]]
    y = np.r_[np.zeros(998), [1, 1]]
    thr = threshold_for_false_flags(y, p, 2.0)
    assert flagged_negatives(y, p, thr) == 2
    assert flags_for({"r": shown(0.7)}, {"r": thr}) == ["r"]  # positives above it still flag


def test_budget_holds_on_random_scores():
    rng = np.random.default_rng(3)
    for _ in range(50):
        p = rng.random(2000) ** 3
        y = (rng.random(2000) < 0.05).astype(int)
        budget = float(rng.integers(0, 30))
        thr = threshold_for_false_flags(y, p, budget)
        assert flagged_negatives(y, p, thr) <= int(budget * 2000 / 1000)
