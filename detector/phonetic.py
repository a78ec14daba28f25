"""The sound of a text: toneless pinyin syllables with their spans, for the featurizer's
phonetic view.

Evaders write words by their sound: in pinyin (你这个sha逼, jia wei xin) or with a homophone
(尼玛 for 你妈, 威信 for 微信). In the phonetic view both the Chinese characters and ASCII
pinyin runs become the same syllables (你 -> ni, sha -> sha), so the n-grams of
"ni zhe ge sha bi" are the same whichever way a post spells them. Characters are read
one by one (pypinyin's first, most common reading, as an evader typing pinyin would); an
ASCII run counts only when it splits completely into pinyin syllables ("wifi" does not).
"""
from __future__ import annotations

import re
from functools import lru_cache

Syllable = tuple[str, int, int]  # (syllable, start, end) in the text
_LATIN = re.compile(r"[a-zA-Z]+")
_MAX_SYLLABLE = 6  # "zhuang", "shuang"


def disk_cached(name: str, key: str, build):
    """`build()` (plain dicts/strings/numbers), kept in the temp directory with `marshal` as jieba
    keeps its dictionary, so later processes load it in a fraction of the time; rebuilt when the
    file is missing, unreadable or made from other inputs (`key`)."""
    import hashlib
    import marshal
    import os
    import tempfile

    path = os.path.join(tempfile.gettempdir(), f"jingwang-{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.marshal")
    try:
        with open(path, "rb") as f:
            return marshal.load(f)
    except (OSError, EOFError, ValueError, TypeError):
        pass
    value = build()
    try:
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "wb") as f:
            marshal.dump(value, f)
        os.replace(tmp, path)
    except OSError:
        pass
    return value


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, str], frozenset[str]]:
    """(CJK character -> toneless pinyin, the set of all syllables), built once per machine."""
    from importlib.metadata import version

    def build() -> dict[str, str]:
        from pypinyin import Style, lazy_pinyin
        from pypinyin.pinyin_dict import pinyin_dict

        chars = [chr(cp) for cp in pinyin_dict if 0x4E00 <= cp <= 0x9FFF]
        return dict(zip(chars, (lazy_pinyin(c, style=Style.NORMAL)[0] for c in chars)))

    reading = disk_cached("pinyin", f"v1 pypinyin {version('pypinyin')}", build)
    syllables = frozenset(s for s in reading.values() if s.isascii() and s.isalpha())
    return reading, syllables


@lru_cache(maxsize=65536)
def split_pinyin(run: str) -> tuple[str, ...] | None:
    """`run` (lowercase letters) as the fewest pinyin syllables, or None if it is not pinyin."""
    _, syllables = _tables()
    n = len(run)
    best: list[tuple[int, int] | None] = [None] * (n + 1)  # (count, previous cut)
    best[0] = (0, -1)
    for end in range(1, n + 1):
        for start in range(max(0, end - _MAX_SYLLABLE), end):
            if best[start] is not None and run[start:end] in syllables:
                cand = (best[start][0] + 1, start)
                if best[end] is None or cand[0] < best[end][0]:
                    best[end] = cand
    if best[n] is None:
        return None
    cuts, end = [], n
    while end > 0:
        start = best[end][1]
        cuts.append(run[start:end])
        end = start
    return tuple(reversed(cuts))


def syllable_runs(text: str) -> list[list[Syllable]]:
    """Maximal runs of consecutive syllables in `text`: every Chinese character gives its
    reading, every ASCII letter run that is pinyin gives its syllables; anything else (digits,
    punctuation, English words) ends a run."""
    reading, _ = _tables()
    runs: list[list[Syllable]] = []
    cur: list[Syllable] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in reading:
            cur.append((reading[ch], i, i + 1))
            i += 1
            continue
        m = _LATIN.match(text, i) if ch.isascii() and ch.isalpha() else None
        parts = split_pinyin(m.group().lower()) if m else None
        if parts:
            pos = i
            for s in parts:
                cur.append((s, pos, pos + len(s)))
                pos += len(s)
            i = m.end()
            continue
        if cur:
            runs.append(cur)
            cur = []
        i = m.end() if m else i + 1
    if cur:
        runs.append(cur)
    return runs


def phonetic_ngrams(text: str, n_min: int, n_max: int) -> list[tuple[str, int, int]]:
    """`p:` features: n-grams of consecutive syllables, each with its span in `text`."""
    out = []
    for run in syllable_runs(text):
        for k in range(n_min, n_max + 1):
            for i in range(len(run) - k + 1):
                grp = run[i:i + k]
                out.append(("p:" + " ".join(s for s, _, _ in grp), grp[0][1], grp[-1][2]))
    return out
