"""Step 3 of cleaning: watermarks, the boilerplate a crawled page repeats at the start or end
of its lines (a short site name glued to every paragraph). `watermark_cuts(text)` returns the
ranges to delete; detector/text/cleaning.py deletes them keeping its offset map."""
from __future__ import annotations

import os

from detector.text import charmaps as cm

_WM_MIN, _WM_MAX = 2, 30


def _line_contents(text: str) -> list[tuple[int, int]]:
    """(start, end) of the whitespace-stripped content of every non-empty line."""
    spans, pos = [], 0
    for line in text.split("\n"):
        core = line.strip()
        if core:
            a = pos + len(line) - len(line.lstrip())
            spans.append((a, a + len(core)))
        pos += len(line) + 1
    return spans


def _wm_ok(cand: str, count: int, n_lines: int, rests: list[str]) -> bool:
    """Is ``cand`` (seen at ``count`` of ``n_lines`` line ends/starts) a watermark?

    ``rests`` are the hit lines with ``cand`` cut off.  Needs >= 2 distinct word chars,
    >= 3 hits, >= 2 distinct non-empty rests whose mean length is >= ``len(cand)``
    (boilerplate is glued to *different, longer* content), and ``count`` >= 60% of
    the non-empty lines when it has >= 4 word chars, else >= 80%.
    """
    words = [c for c in cand if c.isalnum()]
    if len(set(words)) < 2 or count < 3:
        return False
    distinct = {r.strip() for r in rests} - {""}
    if len(distinct) < 2 or sum(map(len, rests)) < len(cand) * len(rests):
        return False
    share = 0.6 if len(words) >= 4 else 0.8
    return count >= share * n_lines


def _group_affix(cores: list[str], cand: str, suffix: bool) -> tuple[str, list[str]]:
    """Maximal common affix of the lines having ``cand`` as affix, and their rests.

    Leading sentence punctuation of a suffix (trailing opening brackets of a prefix)
    is left to the content, so ``...就业。新浪网`` keeps its ``。``.
    """
    if suffix:
        hits = [c for c in cores if c.endswith(cand)]
        full = os.path.commonprefix([c[::-1] for c in hits])[::-1]
        full = full.lstrip(cm.WM_TRIM_SUFFIX)
        return full, [c[: len(c) - len(full)] for c in hits]
    hits = [c for c in cores if c.startswith(cand)]
    full = os.path.commonprefix(hits).rstrip(cm.WM_TRIM_PREFIX)
    return full, [c[len(full):] for c in hits]


def _best_affix(cores: list[str], suffix: bool) -> str:
    """Longest prefix/suffix (2-30 chars) of the lines that qualifies as a watermark."""
    longest = min(_WM_MAX, max(len(c) for c in cores))
    for k in range(longest, _WM_MIN - 1, -1):
        counts: dict[str, int] = {}
        for c in cores:
            if len(c) >= k:
                key = c[-k:] if suffix else c[:k]
                counts[key] = counts.get(key, 0) + 1
        cand, count = max(counts.items(), key=lambda kv: kv[1], default=("", 0))
        if count < 3:
            continue
        full, rests = _group_affix(cores, cand, suffix)
        if _WM_MIN <= len(full) <= _WM_MAX and _wm_ok(full, count, len(cores), rests):
            return full
    return ""


def watermark_cuts(text: str) -> list[tuple[int, int]]:
    """Buffer ranges of watermark occurrences (suffixes first, then prefixes).

    Rule: with >= 3 non-empty lines, the longest string of 2-30 chars found at the
    end (resp. start) of >= 3 lines and of >= 60% of the non-empty lines (>= 80% when
    it has fewer than 4 word chars) is removed from every line it ends (starts);
    it needs >= 2 distinct letters/digits/ideographs, and the rest of the hit lines must
    differ (>= 2 distinct) and be on average at least as long as the candidate, so
    repeated whole lines, repeated spam lines, punctuation and single-line posts stay.
    """
    spans = _line_contents(text)
    if len(spans) < 3:
        return []
    cuts: list[tuple[int, int]] = []
    cores = [text[a:b] for a, b in spans]
    suf = _best_affix(cores, suffix=True)
    if suf:
        for i, (a, b) in enumerate(spans):
            if cores[i].endswith(suf):
                cuts.append((b - len(suf), b))
                spans[i] = (a, b - len(suf))
    kept = [(a, b) for a, b in spans if b > a and text[a:b].strip()]
    cores = [text[a:b] for a, b in kept]
    pre = _best_affix(cores, suffix=False) if len(cores) >= 3 else ""
    if pre:
        cuts += [(a, a + len(pre)) for (a, b), c in zip(kept, cores) if c.startswith(pre)]
    return sorted(cuts)
