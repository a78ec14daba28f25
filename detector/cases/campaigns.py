"""Campaign detection: clusters of coordinated near-identical posts (copy-paste water army).

Pipeline (:func:`find_campaigns`):

1. Match key: ``normalize_for_match`` (Traditional -> Simplified, zero-width chars dropped,
   homoglyphs, ...) minus ``[URL]`` / ``[AT]`` / emoji codes (``[赞]``) and everything not a
   letter / digit / ideograph.  Keys under ``min_chars`` (8) are skipped ("哈哈哈", "[赞]").
2. MinHash of the set of character ``shingle``-grams, per batch of keys
   (``detector.cases.near_duplicates``, as are steps 3 and 4).
3. LSH bands; per band, posts sorted by band key, each paired with its bucket's first post
   and its neighbour: candidate pairs stay linear in the number of posts.
4. Candidates verified by estimated Jaccard (share of equal slots) ``>= threshold``, then
   connected components.  With 5-15% edits, 3-gram Jaccard of two copies is often 0.6-0.7:
   0.7 (default) fragments some campaigns, 0.6 links them (benchmarks/campaigns.py).

Memory per hashed post: the signature (``4 * num_perm`` = 256 B) and an 8-byte spool offset,
~264 MB per million posts, plus ~170 B/post transient while clustering (measured at 1M).
Id, author, parsed time and text go to an anonymous temporary spool file on disk and are read
back only for cluster members (ids, authors, times) and the representative (medoid) text.

Score (in [0, 1], how campaign-like a cluster is)::

    score = sqrt(author_ratio) * (0.3 + 0.7 * burstiness) * (0.6 + 0.4 * size_factor)

``author_ratio`` = distinct authors / members with an author (0.5 when unknown);
``burstiness`` = share of timed members inside the densest 1-hour window (0.5 when fewer
than 2 members have a time); ``size_factor`` = min(1, ln(size) / ln(50)).  Many distinct
authors posting one text within an hour score ~0.75 (5 posts) to ~0.98 (40 posts); one
author repeating a text 6 times over days scores ~0.13.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import tempfile
import time
from array import array
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Iterable, Iterator

import numpy as np

from detector.cases.near_duplicates import MinHasher, near_duplicate_groups
from detector.text.cleaning import normalize_for_match

__all__ = ["Campaign", "CampaignSummary", "find_campaigns", "campaigns_file", "campaign_index",
           "campaign_boost", "campaign_score", "match_key", "parse_time"]

MIN_CHARS = 8
WINDOW_S = 3600
CST = timezone(timedelta(hours=8))  # naive timestamps are taken as Beijing time


@dataclass
class Campaign:
    cluster_id: str
    size: int
    score: float
    member_ids: list[str]
    representative: str
    distinct_authors: int | None = None
    authors: list[str] | None = None
    first_seen: str | None = None
    last_seen: str | None = None
    span_seconds: float | None = None
    burstiness: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


# match keys and times ----------

_BRACKET_RE = re.compile(r"\[[^\[\]\s]{1,8}\]")  # [URL], [AT], emoji codes like [赞]
_NONWORD_RE = re.compile(r"[\W_]+")


def match_key(text: str) -> str:
    """The text near-duplicates are compared on: normalised, letters/digits/ideographs only."""
    return _NONWORD_RE.sub("", _BRACKET_RE.sub("", normalize_for_match(text)))


_DATE_RE = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[T\s]+(\d{1,2})[:时](\d{1,2})"
                      r"(?:[:分](\d{1,2})(?:\.\d+)?秒?)?)?\s*(Z|[+-]\d{2}:?\d{2})?")
_NUM_RE = re.compile(r"\d{9,13}(?:\.\d+)?")


def parse_time(value) -> float | None:
    """Unix seconds from ISO 8601 (with or without zone), "2024/9/26 6:02", unix seconds or
    milliseconds, datetimes; naive times are Beijing time; unparseable / implausible -> None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        v = float(value)
        v = v / 1000 if v > 1e11 else v
        return v if 0 < v < 7e9 else None  # 1970 .. 2191; also rejects nan
    if not isinstance(value, datetime):
        s = str(value).strip()
        if _NUM_RE.fullmatch(s):
            return parse_time(float(s))
        try:
            value = datetime.fromisoformat(s)
        except ValueError:
            value = _parse_date_re(s)
        if value is None:
            return None
    return parse_time((value if value.tzinfo else value.replace(tzinfo=CST)).timestamp())


def _parse_date_re(s: str) -> datetime | None:
    m = _DATE_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d, h, mi, sec, tz = m.groups()
    try:
        zone = None
        if tz:
            tz = tz.replace(":", "")
            off = 0 if tz == "Z" else (int(tz[1:3]) * 60 + int(tz[3:5])) * (1 if tz[0] == "+" else -1)
            zone = timezone(timedelta(minutes=off))
        return datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0), tzinfo=zone)
    except ValueError:
        return None


def iso_time(ts: float) -> str:
    """Unix seconds as ISO 8601 in Beijing time."""
    return datetime.fromtimestamp(ts, CST).isoformat()


# collecting posts ----------

@dataclass
class _Store:
    """Per hashed post a signature (``sigs``) and the spool offset of ``[id, author, time, text]``."""
    spool: object
    sigs: list = field(default_factory=list)
    offsets: array = field(default_factory=lambda: array("q"))
    read: int = 0
    short: int = 0

    def signature_matrix(self, num_perm: int) -> np.ndarray:
        """All signatures as one array; chunks are freed while copied (peak: one chunk extra)."""
        if len(self.sigs) != 1:
            out, pos = np.empty((sum(map(len, self.sigs)), num_perm), np.uint32), 0
            self.sigs.reverse()
            while self.sigs:
                chunk = self.sigs.pop()
                out[pos:pos + len(chunk)] = chunk
                pos += len(chunk)
            self.sigs = [out]
        return self.sigs[0]

    def record(self, i: int) -> list:
        """``[id, author, unix time, text]`` of hashed post ``i``."""
        self.spool.seek(self.offsets[i])
        return json.loads(self.spool.readline())


def _collect(posts: Iterable[dict], hasher: MinHasher, fields: tuple[str, str, str, str],
             min_chars: int = MIN_CHARS, batch_chars: int = 8_000) -> _Store:
    """Hash every post with a long enough match key; spool its id, author, time and text."""
    text_f, id_f, author_f, time_f = fields
    st, keys, chars = _Store(spool=tempfile.TemporaryFile()), [], 0
    try:
        for rec in posts:
            st.read += 1
            text = rec.get(text_f)
            key = match_key(text) if isinstance(text, str) else ""
            if len(key) < max(min_chars, hasher.shingle):
                st.short += 1
                continue
            pid, author = rec.get(id_f), rec.get(author_f)
            row = [f"#{st.read}" if pid is None else str(pid), None if author in (None, "") else str(author),
                   parse_time(rec.get(time_f)), text]
            st.offsets.append(st.spool.tell())
            st.spool.write(json.dumps(row, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n")
            keys.append(key)
            chars += len(key)
            if chars >= batch_chars or len(keys) >= 1024:
                st.sigs.append(hasher.signatures(keys))
                keys, chars = [], 0
        if keys:
            st.sigs.append(hasher.signatures(keys))
    except BaseException:
        st.spool.close()
        raise
    return st


# campaigns ----------

def campaign_score(size: int, author_ratio: float | None, burstiness: float | None) -> float:
    """How campaign-like a cluster is, in [0, 1] (formula in the module docstring)."""
    a = 0.5 if author_ratio is None else author_ratio
    bu = 0.5 if burstiness is None else burstiness
    size_factor = min(1.0, math.log(max(size, 1)) / math.log(50))
    return round(math.sqrt(a) * (0.3 + 0.7 * bu) * (0.6 + 0.4 * size_factor), 4)


def campaign_boost(size: int | None, score: float | None) -> float:
    """Review-priority boost in [0, 1]: 0 outside a cluster, rising with size and score."""
    if not size or size < 2 or not score:
        return 0.0
    return round(min(1.0, max(0.0, score)) * (1 - math.exp(-(size - 1) / 4)), 4)


def _burstiness(ts: np.ndarray) -> float:
    ts = np.sort(ts)
    ends = np.searchsorted(ts, ts + WINDOW_S, side="right")
    return float((ends - np.arange(len(ts))).max() / len(ts))


def _medoid(sig: np.ndarray, members: np.ndarray, cap: int = 200) -> int:
    """The member whose signature agrees most with the others (first ``cap`` members)."""
    m = members[:cap]
    s = sig[m]
    agree = (s[:, None, :] == s[None, :, :]).sum(axis=(1, 2))
    return int(m[int(np.argmax(agree))])


def _campaign(st: _Store, sig: np.ndarray, members: np.ndarray) -> Campaign:
    recs = [st.record(int(i)) for i in members]
    ids = [r[0] for r in recs]
    named = [r[1] for r in recs if r[1] is not None]
    authors = list(dict.fromkeys(named)) if named else None
    ts = np.array([r[2] for r in recs if r[2] is not None], dtype=np.float64)
    burst = round(_burstiness(ts), 4) if len(ts) >= 2 else None
    size = len(members)
    score = campaign_score(size, len(authors) / len(named) if named else None, burst)
    return Campaign(
        cluster_id="c-" + hashlib.sha1(ids[0].encode("utf-8", "surrogatepass")).hexdigest()[:12],
        size=size, score=score, member_ids=ids, representative=st.record(_medoid(sig, members))[3],
        distinct_authors=len(authors) if authors else None, authors=authors,
        first_seen=iso_time(ts.min()) if len(ts) else None, last_seen=iso_time(ts.max()) if len(ts) else None,
        span_seconds=float(ts.max() - ts.min()) if len(ts) else None, burstiness=burst)


def _cluster(st: _Store, num_perm: int, threshold: float, min_size: int) -> list[Campaign]:
    sig = st.signature_matrix(num_perm)
    out = [_campaign(st, sig, g) for g in near_duplicate_groups(sig, threshold, min_size)]
    out.sort(key=lambda c: (-c.score, -c.size, c.cluster_id))
    return out


def find_campaigns(posts: Iterable[dict], text_field: str = "text", id_field: str = "id",
                   author_field: str = "author", time_field: str = "created_at", threshold: float = 0.7,
                   num_perm: int = 64, shingle: int = 3, min_size: int = 3,
                   min_chars: int = MIN_CHARS) -> list[Campaign]:
    """Clusters of >= ``min_size`` near-identical posts (estimated Jaccard of character
    ``shingle``-grams >= ``threshold``), most campaign-like first.  One pass over ``posts``."""
    fields = (text_field, id_field, author_field, time_field)
    return _find(posts, fields, threshold, num_perm, shingle, min_size, min_chars)[0]


def _find(posts: Iterable[dict], fields: tuple[str, str, str, str], threshold: float, num_perm: int,
          shingle: int, min_size: int, min_chars: int = MIN_CHARS) -> tuple[list[Campaign], _Store]:
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    st = _collect(posts, MinHasher(num_perm, shingle), fields, min_chars)
    try:
        return _cluster(st, num_perm, threshold, min_size), st
    finally:
        st.spool.close()


def campaign_index(posts: Iterable, threshold: float = 0.7, min_size: int = 3) -> dict[str, dict]:
    """``{post_id: {"cluster_id", "size", "score"}}`` for clustered posts; ``posts`` are
    ``(id, text, author, created_at)`` tuples or dicts with those keys."""
    names = ("id", "text", "author", "created_at")
    recs = (p if isinstance(p, dict) else dict(zip(names, p)) for p in posts)
    index = {}
    for c in find_campaigns(recs, threshold=threshold, min_size=min_size):
        for pid in c.member_ids:
            index[pid] = {"cluster_id": c.cluster_id, "size": c.size, "score": c.score}
    return index


# the file command ----------

@dataclass
class CampaignSummary:
    read: int = 0
    bad: int = 0
    short: int = 0
    hashed: int = 0
    clusters: int = 0
    clustered_posts: int = 0
    seconds: float = 0.0
    out: str = ""
    top: list[dict] = field(default_factory=list)


def _good_records(input: str, text_field: str, id_field: str, summary: CampaignSummary) -> Iterator[dict]:
    from detector.batch.io import BadRecord, iter_posts

    for item in iter_posts(input, text_field, id_field):
        if isinstance(item, BadRecord):
            summary.bad += 1
            print(f"{input}, line {item.line}: {item.reason}", file=sys.stderr)
        else:
            yield item.record


def campaigns_file(input: str, out: str, text_field: str = "text", id_field: str = "id",
                   author_field: str = "author", time_field: str = "created_at", threshold: float = 0.7,
                   min_size: int = 3, num_perm: int = 64, shingle: int = 3) -> CampaignSummary:
    """Find campaigns in ``input`` (JSONL / CSV / Parquet / ``-``); write one record per
    cluster to ``out``, by score.  Bad records are skipped, counted and reported on stderr."""
    from detector.batch.io import RecordWriter, format_of

    format_of(out)
    t0 = time.time()
    s = CampaignSummary(out=out)
    found, st = _find(_good_records(input, text_field, id_field, s), (text_field, id_field, author_field, time_field),
                      threshold, num_perm, shingle, min_size)
    writer = RecordWriter(out)
    try:
        writer.write([c.to_dict() for c in found])
    finally:
        writer.close()
    s.read, s.short, s.hashed = st.read + s.bad, st.short, len(st.offsets)
    s.clusters, s.clustered_posts = len(found), sum(c.size for c in found)
    s.top = [{"cluster_id": c.cluster_id, "size": c.size, "score": c.score,
              "distinct_authors": c.distinct_authors, "representative": c.representative[:60]}
             for c in sorted(found, key=lambda c: (-c.size, -c.score))[:5]]
    s.seconds = round(time.time() - t0, 2)
    return s
