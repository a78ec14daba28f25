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

import hashlib
import marshal
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

_MAX_SYLLABLE = 6  # "zhuang", "shuang"


_MAGIC = b"jingwang-cache-1\n"


def cache_dir() -> Path:
    """The user's cache folder for Jingwang: $XDG_CACHE_HOME/jingwang (default ~/.cache/jingwang)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "jingwang"


def _private_cache_dir() -> Path | None:
    """cache_dir(), created readable by its owner only; None when it cannot be made or is not
    private (another user's, or writable by others): then nothing is cached."""
    path = cache_dir()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError:
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o022:
        return None
    return path


def _read_cache(path: Path):
    """The value in a cache file, or None when the file is missing or its content hash does not
    match (tampered, truncated or corrupt): nothing unchecked is unmarshalled."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head, digest, body = data[:len(_MAGIC)], data[len(_MAGIC):len(_MAGIC) + 32], data[len(_MAGIC) + 32:]
    if head != _MAGIC or hashlib.sha256(body).digest() != digest:
        return None
    try:
        return marshal.loads(body)
    except (EOFError, ValueError, TypeError):
        return None


def _write_cache(path: Path, value) -> None:
    body = marshal.dumps(value)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + hashlib.sha256(body).digest() + body)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def disk_cached(name: str, key: str, build):
    """`build()` (plain dicts/strings/numbers), kept with `marshal` in the user's cache folder
    (cache_dir()) under a name made from `key`, so later processes load it in a fraction of the
    time. A file is used only when its content hash matches; otherwise (missing, tampered,
    truncated, made from other inputs) the value is rebuilt and the file rewritten."""
    folder = _private_cache_dir()
    if folder is None:
        return build()
    path = folder / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.marshal"
    value = _read_cache(path)
    if value is None:
        value = build()
        _write_cache(path, value)
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


_SYLLABLE_TOKEN = re.compile(r"[\u4e00-\u9fff]+|[a-zA-Z]+")


def syllable_runs(text: str) -> list[tuple[list[str], list[int], list[int]]]:
    """Maximal runs of consecutive syllables in `text`, each as (syllables, starts, ends): every
    Chinese character gives its reading, every ASCII letter run that is pinyin gives its
    syllables; anything else (digits, punctuation, spaces, English words, characters without a
    reading) ends a run."""
    reading, _ = _tables()
    runs: list[tuple[list[str], list[int], list[int]]] = []
    syl: list[str] = []
    st: list[int] = []
    en: list[int] = []
    last = -1
    for m in _SYLLABLE_TOKEN.finditer(text):
        a, chunk = m.start(), m.group()
        if a != last and syl:  # something between: the run ends
            runs.append((syl, st, en))
            syl, st, en = [], [], []
        last = m.end()
        if chunk[0] >= "\u4e00":
            got = list(map(reading.get, chunk))
            if None not in got:
                syl.extend(got)
                st.extend(range(a, a + len(chunk)))
                en.extend(range(a + 1, a + len(chunk) + 1))
                continue
            for i, r in enumerate(got):
                if r is None:
                    if syl:
                        runs.append((syl, st, en))
                        syl, st, en = [], [], []
                else:
                    syl.append(r)
                    st.append(a + i)
                    en.append(a + i + 1)
            continue
        parts = split_pinyin(chunk.lower())
        if parts is None:
            if syl:
                runs.append((syl, st, en))
                syl, st, en = [], [], []
            continue
        for s in parts:
            syl.append(s)
            st.append(a)
            a += len(s)
            en.append(a)
    if syl:
        runs.append((syl, st, en))
    return runs


def span_ngrams(prefix: str, toks: list[str], st: list[int], en: list[int], n_min: int, n_max: int,
                feats: list, starts: list, ends: list) -> None:
    """Append `prefix` + the n-grams (n_min..n_max) of consecutive tokens, joined by a space, with
    spans from the first token's start to the last token's end (words and syllables alike)."""
    n = len(toks)
    for k in range(n_min, min(n_max, n) + 1):
        if k == 1:
            feats.extend([prefix + t for t in toks])
        elif k == 2:
            feats.extend([prefix + a + " " + b for a, b in zip(toks, toks[1:])])
        else:
            feats.extend([prefix + " ".join(toks[i:i + k]) for i in range(n - k + 1)])
        starts.extend(st[:n - k + 1])
        ends.extend(en[k - 1:])


def add_phonetic_ngrams(text: str, n_min: int, n_max: int, feats: list, starts: list, ends: list) -> None:
    """Append the `p:` features of `text` (n-grams of consecutive syllables) and their spans."""
    for syl, st, en in syllable_runs(text):
        span_ngrams("p:", syl, st, en, n_min, n_max, feats, starts, ends)


def phonetic_ngrams(text: str, n_min: int, n_max: int) -> list[tuple[str, int, int]]:
    """`p:` features: n-grams of consecutive syllables, each with its span in `text`."""
    feats: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    add_phonetic_ngrams(text, n_min, n_max, feats, starts, ends)
    return list(zip(feats, starts, ends))
