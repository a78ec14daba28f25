"""From calibrated scores to flags and a review priority."""
from __future__ import annotations

DECIMALS = 4  # scores are written, flagged, ranked and evaluated at this precision


def shown(p: float) -> float:
    """A probability as the pipeline writes it and flags it: rounded to DECIMALS. Evaluation
    rounds the same way, so it measures exactly the flags `jingwang score` writes."""
    return round(float(p), DECIMALS)


def flags_for(scores: dict[str, float], thresholds: dict[str, float]) -> list[str]:
    """Risks at or over their threshold, highest score first. A score of 0 is never a flag, even
    under a threshold of 0: it is what the content gate gives a post that cannot carry the risk."""
    hit = [r for r, p in scores.items() if p >= thresholds[r] and p > 0]
    return sorted(hit, key=lambda r: -scores[r])


def priority(scores: dict[str, float], thresholds: dict[str, float], boost: float = 0.0) -> float:
    """Review order in [0, 1]: every flagged post ranks above every unflagged one.

    Per risk, a score at the threshold maps to 0.5 and 1.0 maps to 1.0 (linear on each side),
    so risks with different thresholds are comparable; the post takes its highest risk.
    `boost` (e.g. campaign size) adds up to its value within the post's half of the scale.
    """
    best = 0.0
    for r, p in scores.items():
        t = min(max(thresholds[r], 1e-6), 1 - 1e-6)
        v = 0.5 + 0.5 * (p - t) / (1 - t) if p >= t else 0.5 * p / t
        best = max(best, v)
    lo, hi = (0.5, 1.0) if best >= 0.5 else (0.0, 0.5)
    best = min(hi, best + boost * (hi - best))
    return round(min(max(float(best), lo), hi), 4)  # plain floats: np.clip on a scalar costs ~20 µs a post
