"""Paid-posting (网络水军) intent lexicon: load the TOML table and match it against text.

The table lives in ``detector/resources/paid_posting_lexicon.toml`` (see its header for the
format and the weight scale). Each category is compiled into ONE regular expression:
its patterns first (named groups ``p0``, ``p1`` ...), then all literal terms folded into a
prefix trie (group ``t``), so a whole category is one ``finditer`` pass over the text.
Matching is case-insensitive; spans index into the exact string passed in.

Usage::

    from detector.text.lexicon import load_lexicon
    lex = load_lexicon()                 # packaged table
    lex.match("兼职发帖日结，加v：abc12345")  # -> [Hit(term='兼职发帖', category='recruit', ...), ...]
    lex.features("...")                  # -> {"recruit_count": 2.0, "recruit_max": 0.9, ..., "total_max": 0.9}
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

DEFAULT_RESOURCE = "paid_posting_lexicon.toml"
_TERM_GROUP = "t"


class Hit(NamedTuple):
    """One lexicon hit. ``term`` is the lexicon term (lowercased) or, for a regex, its name."""

    term: str
    category: str
    weight: float
    start: int
    end: int


@dataclass(frozen=True)
class Entry:
    """One lexicon row: a literal ``term`` or a ``regex`` (then ``name`` labels it)."""

    category: str
    weight: float
    term: str | None = None
    regex: str | None = None
    name: str | None = None
    note: str = ""


class _CategoryMatcher:
    """One compiled alternation for a category, with weight lookups per branch."""

    def __init__(self, category: str, terms: list[Entry], patterns: list[Entry]) -> None:
        self.category = category
        self.term_weight = {e.term: e.weight for e in terms}
        self.pattern_info = {f"p{i}": (e.name, e.weight) for i, e in enumerate(patterns)}
        branches = [f"(?P<p{i}>{e.regex})" for i, e in enumerate(patterns)]
        if terms:
            branches.append(f"(?P<{_TERM_GROUP}>{_trie_regex([e.term for e in terms])})")
        self.regex = re.compile("|".join(branches) or r"(?!x)x", re.IGNORECASE)

    def hits(self, text: str) -> list[Hit]:
        out = []
        cat = self.category
        for m in self.regex.finditer(text):
            group = m.lastgroup
            if group == _TERM_GROUP:
                term = m.group().lower()
                weight = self.term_weight.get(term, 0.0)
            else:
                term, weight = self.pattern_info[group]
            out.append(Hit(term, cat, weight, m.start(), m.end()))
        return out


class Lexicon:
    """A compiled paid-posting lexicon. Build it with :func:`load_lexicon`."""

    def __init__(self, entries: list[Entry], categories: list[str], version: int = 1) -> None:
        self.entries = tuple(entries)
        self.categories = tuple(categories)
        self.version = version
        self._matchers = [
            _CategoryMatcher(
                cat,
                [e for e in entries if e.category == cat and e.term is not None],
                [e for e in entries if e.category == cat and e.regex is not None],
            )
            for cat in self.categories
        ]
        self._feature_keys = [f"{c}_{k}" for c in self.categories for k in ("count", "max")]
        self._feature_keys += ["total_count", "total_max", "total_weight"]

    def match(self, text: str) -> list[Hit]:
        """All hits in ``text``, ordered by (start, category order). Empty text -> []."""
        if not text:
            return []
        hits: list[Hit] = []
        for matcher in self._matchers:
            hits.extend(matcher.hits(text))
        if len(hits) > 1:
            hits.sort(key=lambda h: h.start)
        return hits

    def feature_names(self) -> list[str]:
        """Keys of :meth:`features`, in a fixed order (per category count/max, then totals)."""
        return list(self._feature_keys)

    def features(self, text: str) -> dict[str, float]:
        """Per category ``<cat>_count`` and ``<cat>_max`` (max weight, 0 if none), plus
        ``total_count``, ``total_max`` and ``total_weight`` (sum of hit weights)."""
        feats = dict.fromkeys(self._feature_keys, 0.0)
        total_w = 0.0
        total_max = 0.0
        n = 0
        for matcher in self._matchers:
            hits = matcher.hits(text) if text else ()
            if not hits:
                continue
            cat = matcher.category
            best = max(h.weight for h in hits)
            feats[cat + "_count"] = float(len(hits))
            feats[cat + "_max"] = best
            n += len(hits)
            total_w += sum(h.weight for h in hits)
            total_max = max(total_max, best)
        feats["total_count"] = float(n)
        feats["total_max"] = total_max
        feats["total_weight"] = total_w
        return feats

    def __repr__(self) -> str:
        return f"Lexicon(version={self.version}, categories={self.categories}, entries={len(self.entries)})"


def _trie_regex(words: list[str]) -> str:
    """Fold literal words into a prefix-trie regex; greedy, so the longest word wins."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        if "" in node:
            return f"(?:{body})?"
        return body

    return build(trie)


def _parse_entry(category: str, raw: dict, is_pattern: bool) -> Entry:
    weight = float(raw.get("weight", -1))
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"{category}: weight must be in [0, 1]: {raw!r}")
    note = str(raw.get("note", ""))
    if not is_pattern:
        term = str(raw.get("term", "")).strip().lower()
        if not term:
            raise ValueError(f"{category}: empty term: {raw!r}")
        return Entry(category, weight, term=term, note=note)
    regex, name = raw.get("regex"), raw.get("name")
    if not regex or not name:
        raise ValueError(f"{category}: a pattern needs 'regex' and 'name': {raw!r}")
    if re.compile(regex, re.IGNORECASE).groups:
        raise ValueError(f"{category}/{name}: use (?:...) instead of capturing groups")
    return Entry(category, weight, regex=regex, name=str(name), note=note)


def parse_lexicon(data: dict) -> Lexicon:
    """Build a :class:`Lexicon` from the parsed TOML mapping (validates every entry)."""
    tables = data.get("categories")
    if not isinstance(tables, dict) or not tables:
        raise ValueError("lexicon has no [categories.<name>] tables")
    order = list(data.get("category_order") or tables)
    if sorted(order) != sorted(tables):
        raise ValueError(f"category_order {order} does not match tables {list(tables)}")
    entries: list[Entry] = []
    for cat in order:
        seen: set[str] = set()
        for raw in tables[cat].get("terms", []):
            entry = _parse_entry(cat, raw, is_pattern=False)
            if entry.term in seen:
                raise ValueError(f"{cat}: duplicate term {entry.term!r}")
            seen.add(entry.term)
            entries.append(entry)
        entries.extend(_parse_entry(cat, raw, True) for raw in tables[cat].get("patterns", []))
    return Lexicon(entries, order, int(data.get("version", 1)))


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Load a lexicon TOML; ``None`` loads the packaged ``detector.resources`` table."""
    if path is None:
        raw = resources.files("detector.resources").joinpath(DEFAULT_RESOURCE).read_bytes()
    else:
        raw = Path(path).read_bytes()
    return parse_lexicon(tomllib.loads(raw.decode("utf-8")))


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The packaged lexicon, loaded once per process (share it; it is read-only)."""
    return load_lexicon()
