"""Compiled implementations of jieba's algorithm against jieba itself (segmentation issue).

Reference: jieba configured as detector/text/segment.py does (jieba's dictionary through the
project's content-hashed cache, then detector/resources/userdict.txt, accurate mode, HMM on, whitespace
tokens dropped). Candidates, configured as close to that as their APIs allow:

- jieba_fast: a jieba 0.39 fork with the DAG and Viterbi in C; same Tokenizer API
  (load_userdict, lcut(HMM=True)).
- rjieba: the jieba-rs binding. No load_userdict: the user dictionary goes in line by line
  through add_word(word, freq, tag), parsed with jieba's own line pattern; cut(hmm=True) for
  tokens, tokenize() for spans.

    python benchmarks/segmenters.py --out results/segmenters.json

Measures on random real comments and random Weibo21+COLD test posts: share of posts whose token
list equals jieba's, token-boundary F1, the most common disagreements, posts/s (best of
--repeats, interleaved, as a ratio to the plain jieba lcut loop), initialisation time, and
whether the user dictionary changes each candidate's output. Timings share 2 busy cores:
compare ratios within one run, not absolute numbers across runs.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

import jieba  # noqa: E402
import jieba_fast  # noqa: E402
import rjieba  # noqa: E402

from detector.text.segment import DEFAULT_USERDICT, Segmenter, _initialize  # noqa: E402

jieba_fast.setLogLevel(logging.WARNING)

SHARED = Path("/work/shared/datasets")
COMMENTS = SHARED / "unlabeled_posts" / "chnci_comments.jsonl"
POSTS = [SHARED / "weibo21" / "test.jsonl", SHARED / "cold" / "test.jsonl"]
RE_USERDICT = re.compile(r"^(.+?)( [0-9]+)?( [a-z]+)?$")   # jieba's own user-dictionary line pattern


# ---- segmenters: name -> (build(userdict) -> state, cut(state, text) -> tokens) -------------

def build_jieba(userdict: Path | None):
    tok = jieba.Tokenizer()
    _initialize(tok)                     # exactly detector.text.segment.get_tokenizer
    if userdict:
        tok.load_userdict(str(userdict))
    return tok


def build_jieba_fast(userdict: Path | None, tmp_dir: str | None = None):
    tok = jieba_fast.Tokenizer()
    if tmp_dir is None:                  # no cache: build the prefix dictionary from dict.txt
        tok.FREQ, tok.total = tok.gen_pfdict(tok.get_dict_file())
        tok.initialized = True
    else:                                # its own marshal cache (like jieba's, unchecked)
        tok.tmp_dir = tmp_dir
        tok.initialize()
    if userdict:
        tok.load_userdict(str(userdict))
    return tok


def userdict_entries(userdict: Path) -> list[tuple[str, int | None, str | None]]:
    out = []
    for line in userdict.read_text(encoding="utf-8").lstrip("\ufeff").splitlines():
        line = line.strip()
        if line:
            word, freq, tag = RE_USERDICT.match(line).groups()
            out.append((word, int(freq) if freq else None, tag.strip() if tag else None))
    return out


def build_rjieba(userdict: Path | None):
    seg = rjieba.Jieba()
    if userdict:
        for word, freq, tag in userdict_entries(userdict):
            seg.add_word(word, freq, tag)
    return seg


BUILDERS = {"jieba": build_jieba, "jieba_fast": build_jieba_fast, "rjieba": build_rjieba}
CUTS = {  # the raw call each library offers, whitespace tokens kept
    "jieba": lambda tok, t: tok.lcut(t, HMM=True),
    "jieba_fast": lambda tok, t: tok.lcut(t, HMM=True),
    "rjieba": lambda seg, t: seg.cut(t, True),
}


def with_spans(tokens: list[str]) -> list[tuple[str, int, int]]:
    """As Segmenter.cut_spans builds them from lcut: (word, start, end), whitespace dropped."""
    out, pos = [], 0
    for w in tokens:
        end = pos + len(w)
        if not w.isspace():
            out.append((w, pos, end))
        pos = end
    return out


SPEED = {  # name -> (segmenter, loop over texts); "jieba lcut" is the unit
    "jieba lcut": ("jieba", lambda s, ts: [s.lcut(t, HMM=True) for t in ts]),
    "jieba_fast lcut": ("jieba_fast", lambda s, ts: [s.lcut(t, HMM=True) for t in ts]),
    "rjieba cut": ("rjieba", lambda s, ts: [s.cut(t, True) for t in ts]),
    "jieba spans (Segmenter)": ("segmenter", lambda s, ts: [s.cut_spans(t) for t in ts]),
    "jieba_fast spans": ("jieba_fast", lambda s, ts: [with_spans(s.lcut(t, HMM=True)) for t in ts]),
    "rjieba cut + spans": ("rjieba", lambda s, ts: [with_spans(s.cut(t, True)) for t in ts]),
    "rjieba tokenize": ("rjieba", lambda s, ts: [[x for x in s.tokenize(t, "default", True) if not x[0].isspace()]
                                                 for t in ts]),
}


def words(tokens: list[str]) -> list[str]:
    return [w for w in tokens if not w.isspace()]          # as Segmenter.cut does


def spans(tokens: list[str]) -> list[tuple[int, int]]:
    out, pos = [], 0
    for w in tokens:
        if not w.isspace():
            out.append((pos, pos + len(w)))
        pos += len(w)
    return out


# ---- data ------------------------------------------------------------------------------------

def read_texts(paths: list[Path]) -> list[str]:
    texts = []
    for p in paths:
        with p.open(encoding="utf-8") as f:
            texts += [t for t in (json.loads(line).get("text") for line in f if line.strip()) if t]
    return texts


def sample(paths: list[Path], n: int, seed: int) -> list[str]:
    texts = read_texts(paths)
    return random.Random(seed).sample(texts, min(n, len(texts)))


# ---- agreement -------------------------------------------------------------------------------

def diff_regions(text: str, ref: list[tuple[int, int]], cand: list[tuple[int, int]]):
    """Minimal stretches where the two segmentations differ:
    ((jieba's words, candidate's words), the stretch with a little context)."""
    common = sorted({b for s in ref for b in s} & {b for s in cand for b in s} | {0, len(text)})
    out = []
    for a, b in zip(common, common[1:]):
        r = [text[s:e] for s, e in ref if a <= s and e <= b]
        c = [text[s:e] for s, e in cand if a <= s and e <= b]
        if r != c:
            out.append((("/".join(r), "/".join(c)), text[max(a - 12, 0):b + 12]))
    return out


def agreement(texts: list[str], ref: list[list[str]], cand: list[list[str]], n_examples: int = 10) -> dict:
    same, tp, n_ref, n_cand, broken = 0, 0, 0, 0, 0
    diffs, example = Counter(), {}
    for text, r, c in zip(texts, ref, cand):
        if "".join(c) != text:
            broken += 1
        rs, cs = spans(r), spans(c)
        same += words(r) == words(c)
        tp += len(set(rs) & set(cs))
        n_ref += len(rs)
        n_cand += len(cs)
        if rs != cs:
            for d, context in diff_regions(text, rs, cs):
                diffs[d] += 1
                example.setdefault(d, context)
    p, rcl = tp / max(n_cand, 1), tp / max(n_ref, 1)
    return {
        "identical_share": round(same / len(texts), 5),
        "boundary_precision": round(p, 5), "boundary_recall": round(rcl, 5),
        "boundary_f1": round(2 * p * rcl / max(p + rcl, 1e-12), 5),
        "posts_not_covering_text": broken,
        "top_disagreements": [{"jieba": j, "candidate": k, "count": n, "example": example[(j, k)]}
                              for (j, k), n in diffs.most_common(n_examples)],
    }


# ---- timing ----------------------------------------------------------------------------------

def speed(segs: dict, texts: list[str], repeats: int) -> dict:
    best = {name: float("inf") for name in SPEED}
    for _ in range(repeats):                         # interleaved, so drift hits all alike
        for name, (seg_name, loop) in SPEED.items():
            t = time.perf_counter()
            loop(segs[seg_name], texts)
            best[name] = min(best[name], time.perf_counter() - t)
    base = best["jieba lcut"]
    return {name: {"best_s": round(s, 4), "posts_per_s": round(len(texts) / s),
                   "speedup_vs_jieba_lcut": round(base / s, 2)} for name, s in best.items()}


def init_times(userdict: Path, repeats: int) -> dict:
    """Seconds to a ready segmenter with the user dictionary, best of `repeats` (in-process)."""
    cases = {
        "jieba (project cache, warm)": lambda: build_jieba(userdict),
        "jieba (no cache)": None,
        "jieba_fast (no cache)": lambda: build_jieba_fast(userdict),
        "jieba_fast (own cache, warm)": None,
        "rjieba (embedded dict)": lambda: build_rjieba(userdict),
    }

    def jieba_cold():
        tok = jieba.Tokenizer()
        tok.FREQ, tok.total = tok.gen_pfdict(tok.get_dict_file())
        tok.initialized = True
        tok.load_userdict(str(userdict))

    with tempfile.TemporaryDirectory() as tmp:
        build_jieba_fast(None, tmp_dir=tmp)          # writes its cache once
        cases["jieba (no cache)"] = jieba_cold
        cases["jieba_fast (own cache, warm)"] = lambda: build_jieba_fast(userdict, tmp_dir=tmp)
        out = {}
        for name, fn in cases.items():
            ts = []
            for _ in range(repeats):
                t = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t)
            out[name] = round(min(ts), 3)
    return out


# ---- dictionaries ----------------------------------------------------------------------------

def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dictionary_checks(segs_plain: dict, segs_user: dict, userdict: Path) -> dict:
    jieba_dict = Path(jieba.__file__).parent / "dict.txt"
    fast_dict = Path(jieba_fast.__file__).parent / "dict.txt"
    entries = [line.split()[0] for line in jieba_dict.read_text(encoding="utf-8").splitlines() if line.strip()]
    missing = [w for w in entries if not segs_plain["rjieba"].has_word(w)]
    user_words = [w for w, _, _ in userdict_entries(userdict)]
    probe = {}
    for name in BUILDERS:                            # each user word cut alone: one token?
        whole = lambda s: sum(CUTS[name](s, w) == [w] for w in user_words)
        probe[name] = {"plain": whole(segs_plain[name]), "userdict": whole(segs_user[name])}
    return {
        "jieba_fast_dict_txt_same_as_jieba": sha256(jieba_dict) == sha256(fast_dict),
        "rjieba_has_every_jieba_dict_word": not missing,
        "rjieba_missing_jieba_dict_words": missing[:20],
        "jieba_dict_words": len(entries),
        "user_words": len(user_words),
        "user_words_cut_whole": probe,
    }


def userdict_effect(texts: list[str], plain: list[list[str]], user: list[list[str]]) -> float:
    return round(sum(words(a) != words(b) for a, b in zip(plain, user)) / len(texts), 5)


# ---- main ------------------------------------------------------------------------------------

def run(args) -> dict:
    userdict = Path(args.userdict)
    corpora = {"comments": sample([COMMENTS], args.comments, args.seed),
               "posts": sample(POSTS, args.posts, args.seed)}
    segs_user = {name: build(userdict) for name, build in BUILDERS.items()}
    segs_plain = {name: build(None) for name, build in BUILDERS.items()}
    result = {
        "versions": {p: version(p) for p in ("jieba", "jieba-fast", "rjieba")},
        "settings": {"seed": args.seed, "repeats": args.repeats, "userdict": str(userdict),
                     "userdict_sha256": sha256(userdict), "cpu_count": os.cpu_count(),
                     "loadavg_at_start": os.getloadavg()},
        "corpora": {}, "init_seconds": init_times(userdict, args.init_repeats),
        "dictionaries": dictionary_checks(segs_plain, segs_user, userdict),
    }
    for cname, texts in corpora.items():
        cut = {(n, d): [CUTS[n](s, t) for t in texts]
               for d, segs in (("user", segs_user), ("plain", segs_plain)) for n, s in segs.items()}
        project = Segmenter(userdict)
        entry = {"n": len(texts), "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
                 "reference_differs_from_Segmenter_cut": sum(
                     project.cut(t) != words(c) for t, c in zip(texts, cut[("jieba", "user")])),
                 "agreement": {}, "agreement_without_userdict": {}, "userdict_changes_share": {}}
        for n in BUILDERS:
            entry["userdict_changes_share"][n] = userdict_effect(texts, cut[(n, "plain")], cut[(n, "user")])
            if n != "jieba":
                entry["agreement"][n] = agreement(texts, cut[("jieba", "user")], cut[(n, "user")])
                plain = agreement(texts, cut[("jieba", "plain")], cut[(n, "plain")])
                entry["agreement_without_userdict"][n] = {k: plain[k] for k in ("identical_share", "boundary_f1")}
                entry["agreement_without_userdict"][n]["posts_differing_only_with_userdict"] = sum(
                    words(jp) == words(cp) and words(ju) != words(cu) for jp, cp, ju, cu in zip(
                        cut[("jieba", "plain")], cut[(n, "plain")], cut[("jieba", "user")], cut[(n, "user")]))
        entry["rjieba_tokenize_spans_differ_from_cut"] = sum(
            [(s, e) for _, s, e in segs_user["rjieba"].tokenize(t, "default", True) if not t[s:e].isspace()]
            != spans(c) for t, c in zip(texts, cut[("rjieba", "user")]))
        entry["speed"] = speed(segs_user | {"segmenter": project}, texts, args.repeats)
        result["corpora"][cname] = entry
        print(f"[{cname}] done", flush=True)
    result["settings"]["loadavg_at_end"] = os.getloadavg()
    return result


def print_table(result: dict) -> None:
    print(f"\nversions: {result['versions']}")
    print(f"init seconds (with user dict, best of repeats): {result['init_seconds']}")
    d = result["dictionaries"]
    print(f"user words cut whole (of {d['user_words']}): {d['user_words_cut_whole']}")
    print(f"jieba_fast dict.txt == jieba's: {d['jieba_fast_dict_txt_same_as_jieba']}; "
          f"rjieba has all {d['jieba_dict_words']} jieba dict words: {d['rjieba_has_every_jieba_dict_word']}")
    for cname, e in result["corpora"].items():
        print(f"\n{cname}: {e['n']} texts, {e['mean_chars']} chars on average")
        print(f"{'segmenter':26} {'identical':>9} {'F1':>8} {'id(no ud)':>9} {'ud changes':>10} {'posts/s':>9} {'x jieba':>8}")
        for name, sp in e["speed"].items():
            base = name.split(" ")[0]
            ag = e["agreement"].get(base, {"identical_share": 1.0, "boundary_f1": 1.0})
            ag0 = e["agreement_without_userdict"].get(base, {"identical_share": 1.0})
            print(f"{name:26} {ag['identical_share']:9.4f} {ag['boundary_f1']:8.5f} {ag0['identical_share']:9.4f} "
                  f"{e['userdict_changes_share'][base]:10.4f} {sp['posts_per_s']:9d} {sp['speedup_vs_jieba_lcut']:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/segmenters.json")
    ap.add_argument("--userdict", default=str(DEFAULT_USERDICT))
    ap.add_argument("--comments", type=int, default=10_000)
    ap.add_argument("--posts", type=int, default=5_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--init-repeats", type=int, default=3)
    args = ap.parse_args()
    result = run(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print_table(result)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
