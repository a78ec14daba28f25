"""Operations: flagged posts linked into the cases behind them (who runs a paid-deletion or
fake-review business, through which accounts and which contact).

Two flagged posts belong to one operation when they share

- a **contact** in any spelling (keys from :mod:`detector.cases.contact_keys`: 薇信 abc123, V: abc 123
  and vx abc123 are all ``wechat:abc123``; ➕q 12345 and 扣扣①②③④⑤ are ``qq:12345``);
- an **author** (``author``, ``user``, ``user_id``, … whichever the records carry; a user object
  counts by its ``id`` or ``name``);
- a **campaign cluster** (``campaign.cluster_id`` written by ``jingwang score --campaigns``) or a
  group of **copies** (near-identical texts once their contacts are taken out: copies that each
  spell the contact their own way, or leave it out). These two are weaker: they never merge two
  groups that each already have a contact and share none (two operations copying one script).

Operations are the connected components (union-find) of at least ``min_size`` posts, scored::

    score = 0.3 * size + 0.2 * authors + 0.2 * contact + 0.1 * burst + 0.2 * risk

``size`` = min(1, ln n / ln 50); ``authors`` = min(1, ln a / ln 10) for a distinct authors
(0.3 when no post has an author); ``contact`` = 1 when a contact is shared by two posts, 0.5 when
posts carry contacts none of them share, else 0; ``burst`` = 1 − min(1, ln(1 + span hours) /
ln(721)) (all within the hour ≈ 1, a month or more 0; 0.5 when under two posts have a time);
``risk`` = mean review priority of the posts (or their highest flagged score).
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field, fields as dc_fields
from typing import Iterable, Iterator

from detector.cases.campaigns import iso_time, parse_time
from detector.cases.contact_keys import contact_keys, contacts_and_rest
from detector.text.pii import mask_text

__all__ = ["Operation", "OperationsSummary", "contact_keys", "link_posts", "find_operations",
           "operations_file", "AUTHOR_FIELDS"]

AUTHOR_FIELDS = ("author", "user", "user_id", "author_id", "uid", "screen_name", "nickname")
TIME_FIELDS = ("created_at", "time", "timestamp", "date", "published_at")
NO_AUTHOR = {"", "匿名", "匿名用户", "用户已注销", "anonymous", "unknown", "none", "null", "nan"}
MAX_TEXT = 300  # characters of each post kept for the representative texts
N_REPRESENTATIVE = 3
COPY_THRESHOLD = 0.7  # estimated Jaccard of character 3-grams for two texts to be copies

# posts and links ----------

@dataclass
class PostInfo:
    """What an operation needs of one flagged post."""

    id: str
    author: str | None
    ts: float | None
    text: str
    risks: list[str]
    weight: float
    keys: set[str] = field(default_factory=set)
    campaign: str | None = None
    rest: str = ""  # cleaned text without its contacts, for the copy links
    copy: int | None = None  # its group of copies, if any
    subtypes: list[str] = field(default_factory=list)  # "risk/subtype" of its flagged risks


def author_of(rec: dict, author_field: str | None = None) -> str | None:
    """The post's author: ``author_field`` or the first of :data:`AUTHOR_FIELDS` present."""
    fields = (author_field,) if author_field else AUTHOR_FIELDS
    for f in fields:
        v = rec.get(f)
        if isinstance(v, dict):
            v = v.get("id", v.get("name"))
        if v is not None and not isinstance(v, (list, dict, bool)) and str(v).strip().lower() not in NO_AUTHOR:
            return str(v).strip()
    return None


def time_of(rec: dict, time_field: str | None = None) -> float | None:
    for f in (time_field,) if time_field else TIME_FIELDS:
        if rec.get(f) is not None:
            return parse_time(rec[f])
    return None


def _number(v) -> float | None:
    """A number, also from CSV text ("0.87"); None otherwise."""
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return None
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


def post_weight(rec: dict, flags: list[str]) -> float:
    """Review priority if the record has one, else the highest score of a flagged risk (``scores``,
    or the ``score_<risk>`` columns of CSV / Parquet output)."""
    p = _number(rec.get("priority"))
    if p is not None and 0 <= p <= 1:
        return p
    scores = rec.get("scores") if isinstance(rec.get("scores"), dict) else {}
    vals = [v for v in (_number(scores.get(r, rec.get(f"score_{r}"))) for r in flags) if v is not None]
    return max(vals) if vals else 0.5


class UnionFind:
    """Disjoint sets of post indices; each root also holds the contact keys of its set."""

    def __init__(self, n: int):
        self.parent = list(range(n))
        self.contacts: dict[int, set[str]] = {}

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int, unless_contacts_differ: bool = False) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        ca, cb = self.contacts.get(ra), self.contacts.get(rb)
        if unless_contacts_differ and ca and cb and not ca & cb:
            return  # two operations that each have their own contact: a shared script does not merge them
        lo, hi = min(ra, rb), max(ra, rb)
        self.parent[hi] = lo
        if ca or cb:
            self.contacts[lo] = (ca or set()) | (cb or set())
            self.contacts.pop(hi, None)


def copy_groups(posts: list[PostInfo], threshold: float = COPY_THRESHOLD) -> list[list[int]]:
    """Groups of posts whose texts without contacts are near-identical (MinHash, as `campaigns`)."""
    from detector.cases.campaigns import find_campaigns

    found = find_campaigns(({"id": str(i), "text": p.rest} for i, p in enumerate(posts) if p.rest),
                           threshold=threshold, min_size=2)
    return [[int(i) for i in c.member_ids] for c in found]


def link_posts(posts: list[PostInfo], copies: Iterable[list[int]] = ()) -> list[list[int]]:
    """Groups of post indices (all groups, singletons too). Posts sharing a contact key or an
    author are linked first; then each campaign cluster, and each group of copies (near-identical
    texts once contacts are taken out), links its posts, except two groups that each already have
    a contact and share none (different operations copying one script)."""
    uf, first, weak = UnionFind(len(posts)), {}, {}
    for i, p in enumerate(posts):
        if p.keys:
            uf.contacts[uf.find(i)] = uf.contacts.get(uf.find(i), set()) | p.keys
        for k in [*p.keys, f"author:{p.author}"] if p.author else p.keys:
            j = first.setdefault(k, i)
            if j != i:
                uf.union(i, j)
        if p.campaign:
            weak.setdefault(p.campaign, []).append(i)
    for members in [*weak.values(), *copies]:
        for i in members[1:]:
            uf.union(i, members[0], unless_contacts_differ=True)
    groups: dict[int, list[int]] = {}
    for i in range(len(posts)):
        groups.setdefault(uf.find(i), []).append(i)
    return list(groups.values())


# operations ----------

@dataclass
class Operation:
    operation_id: str
    size: int
    score: float
    post_ids: list[str]
    authors: list[str]
    contacts: list[str]
    campaigns: list[str]
    linked_by: list[str]
    risks: dict[str, int]
    subtypes: dict = field(default_factory=dict)  # "risk/subtype": posts, from the records' subtypes
    first_seen: str | None = None
    last_seen: str | None = None
    span_seconds: float | None = None
    representative: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dc_fields(self)}  # shallow: asdict copies deeply, slowly


def operation_score(n: int, n_authors: int, shared: bool, any_contact: bool, span_s: float | None,
                    risk: float) -> float:
    size = min(1.0, math.log(n) / math.log(50))
    authors = min(1.0, math.log(n_authors) / math.log(10)) if n_authors else 0.3
    contact = 1.0 if shared else 0.5 if any_contact else 0.0
    burst = 0.5 if span_s is None else 1 - min(1.0, math.log1p(span_s / 3600) / math.log(721))
    return round(0.3 * size + 0.2 * authors + 0.2 * contact + 0.1 * burst + 0.2 * risk, 4)


def _representative(members: list[PostInfo], mask: bool) -> list[str]:
    """Up to three distinct texts, highest weight first."""
    out, seen = [], set()
    for p in sorted(members, key=lambda p: -p.weight):
        key = re.sub(r"\W+", "", p.text)[:40]
        if key not in seen:
            seen.add(key)
            out.append(mask_text(p.text) if mask else p.text)
        if len(out) == N_REPRESENTATIVE:
            break
    return out


def build_operation(members: list[PostInfo], mask: bool = True) -> Operation:
    members = sorted(members, key=lambda p: (p.ts is None, p.ts or 0.0))
    ids = [p.id for p in members]
    key_count = Counter(k for p in members for k in p.keys)
    authors = Counter(p.author for p in members if p.author)
    camps = Counter(p.campaign for p in members if p.campaign)
    copies = Counter(p.copy for p in members if p.copy is not None)
    times = [p.ts for p in members if p.ts is not None]
    span = max(times) - min(times) if len(times) >= 2 else None
    links = (("contact", key_count), ("campaign", camps), ("copies", copies), ("author", authors))
    linked = [name for name, c in links if any(v >= 2 for v in c.values())]
    risk = sum(p.weight for p in members) / len(members)
    return Operation(
        operation_id="op-" + hashlib.blake2b("\n".join(sorted(ids)).encode("utf-8", "surrogatepass"),
                                             digest_size=6).hexdigest(),
        size=len(members),
        score=operation_score(len(members), len(authors), any(v >= 2 for v in key_count.values()),
                              bool(key_count), span, risk),
        post_ids=ids, authors=sorted(authors, key=lambda a: (-authors[a], a)),
        contacts=sorted(key_count, key=lambda k: (-key_count[k], k)),
        campaigns=sorted(camps, key=lambda c: (-camps[c], c)), linked_by=linked,
        risks=dict(Counter(r for p in members for r in p.risks).most_common()),
        subtypes=dict(Counter(t for p in members for t in p.subtypes).most_common()),
        first_seen=iso_time(min(times)) if times else None, last_seen=iso_time(max(times)) if times else None,
        span_seconds=span, representative=_representative(members, mask))


def find_operations(posts: list[PostInfo], min_size: int = 2, mask: bool = True,
                    copies: bool = True) -> list[Operation]:
    """Operations of at least ``min_size`` posts, highest score first. With ``copies``, posts
    whose texts are near-identical once contacts are taken out are linked too."""
    groups = copy_groups(posts) if copies else []
    for g, members in enumerate(groups):
        for i in members:
            posts[i].copy = g
    ops = [build_operation([posts[i] for i in g], mask) for g in link_posts(posts, groups) if len(g) >= min_size]
    return sorted(ops, key=lambda o: (-o.score, -o.size, o.operation_id))


# files ----------

@dataclass
class OperationsSummary:
    out: str
    read: int = 0
    bad: int = 0
    flagged: int = 0
    operations: int = 0
    linked_posts: int = 0
    seconds: float = 0.0
    html: str | None = None
    errors: list[tuple[int, str]] = field(default_factory=list)
    top: list[dict] = field(default_factory=list)


def _flags(rec: dict) -> list[str] | str:
    """The record's flags (a list, or CSV / Parquet text "rumor,paid_posting"), or why they cannot be read."""
    flags = rec.get("flags", [])
    if flags is None:
        return []
    if isinstance(flags, str):
        flags = [f.strip() for f in flags.split(",") if f.strip()]
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        return f"flags must be a list of risk names, not {flags!r}"[:120]
    return flags


def _campaign_id(camp) -> str | None:
    """``campaign.cluster_id``; in CSV / Parquet output the campaign is JSON text."""
    if isinstance(camp, str) and camp.startswith("{"):
        try:
            camp = json.loads(camp)
        except (ValueError, RecursionError):
            return None
    cid = camp.get("cluster_id") if isinstance(camp, dict) else None
    return None if cid is None or isinstance(cid, (dict, list)) else str(cid)


def subtypes_of(rec: dict, flags: list[str]) -> list[str]:
    """"risk/subtype" names a scored record gives its flagged risks (JSON text in CSV/Parquet
    output); anything malformed gives none."""
    subs = rec.get("subtypes")
    if isinstance(subs, str):
        try:
            subs = json.loads(subs)
        except (ValueError, RecursionError):
            return []
    if not isinstance(subs, dict):
        return []
    return [f"{r}/{name}" for r in flags if isinstance(subs.get(r), dict) for name in subs[r] if isinstance(name, str)]


def post_info(rec: dict, text: str, line: int, fields: dict, all_posts: bool) -> PostInfo | str | None:
    """A flagged record as a PostInfo; None if not flagged; a reason string if it is bad."""
    flags = _flags(rec)
    if isinstance(flags, str):
        return flags
    if not flags and not all_posts:
        return None
    rid = rec.get(fields["id"])
    keys, rest = contacts_and_rest(text)
    return PostInfo(id=f"line:{line}" if rid is None else str(rid), author=author_of(rec, fields["author"]),
                    ts=time_of(rec, fields["time"]), text=text[:MAX_TEXT], risks=flags, weight=post_weight(rec, flags),
                    keys=keys, campaign=_campaign_id(rec.get("campaign")), rest=rest[:MAX_TEXT],
                    subtypes=subtypes_of(rec, flags))


def read_posts(input: str, s: OperationsSummary, fields: dict, all_posts: bool = False) -> Iterator[PostInfo]:
    """Flagged posts of a scored file; bad lines are recorded in ``s.errors`` with their number."""
    from detector.batch.io import BadRecord, iter_posts

    for item in iter_posts(input, fields["text"], fields["id"]):
        s.read += 1
        if isinstance(item, BadRecord):
            s.bad += 1
            s.errors.append((item.line, item.reason))
            continue
        info = post_info(item.record, item.text, item.line, fields, all_posts)
        if isinstance(info, str):
            s.bad += 1
            s.errors.append((item.line, info))
        elif info is not None:
            s.flagged += 1
            yield info


def operations_file(input: str, out: str, html: str | None = None, min_size: int = 2, text_field: str = "text",
                    id_field: str = "id", author_field: str | None = None, time_field: str | None = None,
                    all_posts: bool = False, mask: bool = True, copies: bool = True) -> OperationsSummary:
    """Link the flagged posts of a scored file (``jingwang score`` output) into operations; write
    one record per operation to ``out`` (JSONL / CSV / Parquet), by score, and optionally an HTML
    report. Bad lines are skipped and listed in the summary with their line numbers."""
    from detector.batch.guards import check_input, check_outputs, writing
    from detector.batch.io import RecordWriter, format_of

    check_input(input)
    format_of(out)
    check_outputs(input, {"--out": out, "--html": html or ""})
    t0 = time.time()
    s = OperationsSummary(out=out, html=html)
    fields = {"text": text_field, "id": id_field, "author": author_field, "time": time_field}
    ops = find_operations(list(read_posts(input, s, fields, all_posts)), min_size, mask, copies)
    with writing(out):
        writer = RecordWriter(out)
        try:
            writer.write([o.to_dict() for o in ops])
        finally:
            writer.close()
    if html:
        from detector.cases.report import write_report

        with writing(html):
            write_report(html, ops, s)
    s.operations, s.linked_posts = len(ops), sum(o.size for o in ops)
    s.top = [{"operation_id": o.operation_id, "size": o.size, "authors": len(o.authors), "score": o.score,
              "contacts": ", ".join(o.contacts[:2]), "text": (o.representative or [""])[0][:50]} for o in ops[:5]]
    s.seconds = round(time.time() - t0, 2)
    return s
