"""What the transformer-backed scorers (torch and ONNX) share: calibrated probabilities from
logits, and evidence by occlusion over jieba words. No torch here, so the ONNX scorer stays
torch-free."""
from __future__ import annotations

import numpy as np

from detector.text.cleaning import CleanText
from detector.text.segment import Segmenter

MAX_OCCLUDED_WORDS = 48


def word_spans(segmenter: Segmenter, text: str) -> dict[str, list[tuple[int, int]]]:
    """Distinct jieba words of `text` (punctuation-only words left out), in first-seen order,
    each with the spans of all its occurrences."""
    out: dict[str, list[tuple[int, int]]] = {}
    for w, s, e in segmenter.cut_spans(text):
        if any(ch.isalnum() for ch in w):
            out.setdefault(w, []).append((s, e))
    return out


def delete_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` without the given [start, end) spans."""
    keep, pos = [], 0
    for s, e in sorted(spans):
        keep.append(text[pos:s])
        pos = e
    keep.append(text[pos:])
    return "".join(keep)


class OcclusionScorer:
    """Mixin: needs `labels`, `calibrators_`, `segmenter`, `_occluded` (None at start),
    `logits(list[str]) -> (n, n_labels)` and `decision_function(list[CleanText])`."""

    def predict_proba(self, texts: list[CleanText]) -> np.ndarray:
        z = self.decision_function(texts)
        return np.stack([cal(z[:, j]) for j, cal in enumerate(self.calibrators_)], axis=1).astype(np.float32)

    def explain(self, text: CleanText, label: str, k: int = 5) -> list[dict]:
        """Occlusion over jieba words: delete every occurrence of a word and rank words by how
        much `label`'s logit drops. All variants go through the model in one batched pass (at
        most 48 words), and are reused for the other labels of the same text."""
        j = self.labels.index(label)
        spans, z = self.occlusion(text.text)
        if not spans:
            return []
        drops = [(float(z[0, j] - z[i + 1, j]), w) for i, w in enumerate(spans)]
        drops = sorted((t for t in drops if t[0] > 0), key=lambda t: -t[0])[:k]
        return [{"term": w, "weight": round(d, 4),
                 "spans": [list(s) for s in sorted({text.to_original(s, e) for s, e in spans[w]})]}
                for d, w in drops]

    def occlusion(self, cleaned: str) -> tuple[dict[str, list[tuple[int, int]]], np.ndarray]:
        """(word -> spans, logits): row 0 is the text, row i+1 the text without the i-th word.
        The last text's result is kept, since a flagged post is explained once per label."""
        if self._occluded is not None and self._occluded[0] == cleaned:
            return self._occluded[1], self._occluded[2]
        all_spans = word_spans(self.segmenter, cleaned)
        spans = {w: all_spans[w] for w in list(all_spans)[:MAX_OCCLUDED_WORDS]}
        z = self.logits([cleaned] + [delete_spans(cleaned, sp) for sp in spans.values()]) if spans else None
        self._occluded = (cleaned, spans, z)
        return spans, z
