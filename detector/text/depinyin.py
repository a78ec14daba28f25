"""Pinyin written in place of Chinese characters, turned back into characters.

A tiny input method: an ASCII run that splits into pinyin syllables (detector/text/phonetic.py)
and stands next to Chinese text becomes the characters a dictionary makes most likely
there. The dictionary is jieba's (word frequencies) plus the project's user dictionary and
resources/depinyin_words.txt; the characters around the run stay fixed and take part in the
words, so 加wei信 decodes to 加微信 and 你这个sha逼 to 你这个傻逼 when 傻逼 is a dictionary word.
Decoding is a best path over dictionary words (sum of log frequencies, as jieba segments), with
single characters as the fallback; every character is read by its first pinyin reading.
"""
from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path

from detector.text.phonetic import _tables, disk_cached, split_pinyin
from detector.resources import resource

_MAX_WORD = 6
# Words rarer than this in jieba's dictionary are left out of the index. Measured (index memory /
# share of pinyin-replaced COLD characters decoded exactly): all 144 MB / 88.6%; >= 5 64 MB /
# 88.0%; >= 20 39 MB / 87.3%; >= 50 29 MB / 86.2%.
_MIN_FREQ = 5.0
_EXTRA_WORDS = resource("depinyin_words.txt")


@lru_cache(maxsize=1)
def _index() -> tuple[dict[str, str], float]:
    """reading ("sha bi") -> "word logfreq" entries joined by tabs, best first, and the log
    frequency of an unseen character. Cached on disk (phonetic.disk_cached), keyed by the
    dictionaries' sizes and dates."""
    import jieba

    from detector.text.segment import DEFAULT_USERDICT

    paths = [Path(os.path.dirname(jieba.__file__)) / "dict.txt", _EXTRA_WORDS]
    if Path(DEFAULT_USERDICT).is_file():
        paths.append(Path(DEFAULT_USERDICT))
    key = "v1 " + " ".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths) + f" {_MIN_FREQ}"
    index, unseen = disk_cached("depinyin", key, lambda: _build_index(paths))
    return index, unseen


def _build_index(paths: list[Path]) -> tuple[dict[str, str], float]:
    reading, _ = _tables()
    freq: dict[str, float] = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if not parts or parts[0].startswith("#") or len(parts[0]) > _MAX_WORD:
                    continue
                word = parts[0]
                n = float(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 10.0
                if n < _MIN_FREQ and len(word) > 1:
                    continue
                freq[word] = max(freq.get(word, 0.0), n)
    total = math.log(sum(freq.values()))
    entries: dict[str, list[tuple[float, str]]] = {}
    for word, n in freq.items():
        key = [reading.get(c, "") for c in word]
        if "" not in key:
            entries.setdefault(" ".join(key), []).append((math.log(n) - total, word))
    index = {k: "\t".join(f"{w} {lf:.4f}" for lf, w in sorted(v, reverse=True)) for k, v in entries.items()}
    return index, math.log(0.5) - total


@lru_cache(maxsize=65536)
def _candidates(key: str) -> tuple[tuple[str, float], ...]:
    entry = _index()[0].get(key)
    if not entry:
        return ()
    return tuple((w, float(lf)) for w, lf in (e.split(" ") for e in entry.split("\t")))


def decode(syllables: list[str], fixed: list[str | None]) -> str:
    """The likeliest characters for `syllables`; `fixed[i]` is the known character at i (or None)."""
    unseen = _index()[1]
    n = len(syllables)
    best: list[tuple[float, int, str]] = [(0.0, -1, "")] + [(-math.inf, -1, "")] * n
    for end in range(1, n + 1):
        for start in range(max(0, end - _MAX_WORD), end):
            if best[start][0] == -math.inf:
                continue
            key, want = syllables[start:end], fixed[start:end]
            word, score = None, -math.inf
            for cand, lf in _candidates(" ".join(key)):
                if all(w is None or w == c for w, c in zip(want, cand)):
                    word, score = cand, lf
                    break
            if word is None and end - start == 1:  # fallback: the known char, or any char
                word, score = (want[0], unseen) if want[0] is not None else (_any_char(key[0]), unseen * 2)
            if word is not None and best[start][0] + score > best[end][0]:
                best[end] = (best[start][0] + score, start, word)
    out, end = [], n
    while end > 0:
        out.append(best[end][2])
        end = best[end][1]
    return "".join(reversed(out))


@lru_cache(maxsize=1024)
def _any_char(syllable: str) -> str:
    reading, _ = _tables()
    return next((c for c, r in reading.items() if r == syllable), "?")


_NUMERALS = {"ling": "零", "yi": "一", "yao": "幺", "er": "二", "san": "三", "si": "四", "wu": "五",
             "liu": "六", "qi": "七", "ba": "八", "jiu": "九"}
_NUMERAL_CHARS = frozenset(_NUMERALS.values()) | frozenset("〇十")


def _numerals(sylls: list[str], fixed: list[str | None], chars: str) -> str:
    """Spelled-out digits (企鹅九八qi六...): a pinyin syllable that reads as a numeral and stands
    next to a numeral becomes that numeral, as the numbers of contact details are written."""
    out = list(chars)
    changed = True
    while changed:
        changed = False
        for i, syl in enumerate(sylls):
            if fixed[i] is None and syl in _NUMERALS and out[i] != _NUMERALS[syl] and (
                    (i > 0 and out[i - 1] in _NUMERAL_CHARS) or (i + 1 < len(out) and out[i + 1] in _NUMERAL_CHARS)):
                out[i], changed = _NUMERALS[syl], True
    return "".join(out)


_SEPARATORS = frozenset(" -_*.·|/~+")


def depinyin_edits(text: str, runs: list[tuple[int, int]]) -> list[tuple[int, int, list[tuple[str, int, int]]]]:
    """Edits for the letter runs [start, end) of `text` that are pinyin standing with Chinese
    characters: (start, end, pieces), one piece (character, syllable start, syllable end) per
    syllable, positions relative to the run. A phrase (Chinese characters and pinyin runs,
    with only spaces and separators between them) is decoded as a whole, its characters
    fixed; runs in a phrase without Chinese characters are left alone."""
    parts = {a: (b, ps) for a, b in runs if (ps := split_pinyin(text[a:b].lower()))}
    if not parts:  # no run is pinyin: nothing to decode (most texts with Latin letters)
        return []
    reading, _ = _tables()
    edits: list = []
    sylls: list[str] = []
    fixed: list[str | None] = []
    free: list[tuple[int, int, tuple[str, ...], int]] = []  # run start, end, syllables, index in sylls

    def flush() -> None:
        if free and any(f is not None for f in fixed):
            chars = _numerals(sylls, fixed, decode(sylls, fixed))
            for a, b, ps, k in free:
                pieces, pos = [], 0
                for ch, syl in zip(chars[k:k + len(ps)], ps):
                    pieces.append((ch, pos, pos + len(syl)))
                    pos += len(syl)
                edits.append((a, b, pieces))
        sylls.clear(), fixed.clear(), free.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        if ch in reading:
            sylls.append(reading[ch]), fixed.append(ch)
        elif i in parts:
            b, ps = parts[i]
            free.append((i, b, ps, len(sylls)))
            sylls.extend(ps), fixed.extend([None] * len(ps))
            i = b
            continue
        elif ch not in _SEPARATORS and not ch.isspace():
            flush()
        i += 1
    flush()
    return edits
