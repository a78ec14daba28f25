"""Subtypes of a flagged risk: what kind of rumor, paid posting or harassment a post is.

Each flagged risk of a post gets `subtypes`: {subtype: {"score", "evidence"}}, the subtypes whose
score reaches their threshold, and always the best one, first. A subtype's score comes from a
small multi-label head (one logistic regression per subtype, trained on the positives of its
risk, training/trainers/subtypes.py) over the fast model's hashed TF-IDF features plus the lexicon intents
mapped to each subtype (INTENTS); a subtype too rare to train on is scored by its intents alone.
Evidence: the subtype's lexicon hits, the words of the risk's evidence that the subtype's weights
favour, and for doxxing the personal data next to a target (detector/pii.doxxing_evidence).

The best subtype is the one the post's features point to most: the largest logit without its
intercept (`SubtypeHead.rank`). With the intercepts, a post without any subtype's cue got the
subtype with the largest prior (lure_ad for 108 of 135 paid posts of the hand-written eval set);
on the dev rows, ranking without them raised subtype macro-F1 from 0.69 to 0.80 (paid posting),
0.56 to 0.63 (harassment) and 0.48 to 0.59 (rumor).

Saved in a model folder as `subtypes.safetensors` (weights) and `subtypes.json` (subtypes,
thresholds, lexicon files, how it was trained); a folder without them gives no subtypes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from safetensors.numpy import save_file

from detector.text.cleaning import CleanText
from detector.text.lexicon import Lexicon, load_lexicon
from detector.text.pii import doxxing_evidence
from detector.scorers.base import ModelFolderError, inside, load_arrays, need
from detector.resources import RESOURCES

WEIGHTS = "subtypes.safetensors"
CONFIG = "subtypes.json"
FORMAT = 1

SUBTYPES: dict[str, tuple[str, ...]] = {
    "paid_posting": ("paid_deletion", "fake_engagement", "lure_ad", "recruitment", "extortion"),
    "harassment": ("insult", "hate", "threat", "doxxing", "defamation"),
    "rumor": ("fabricated_event", "disaster_panic", "health", "impersonated_notice"),
}
# lexicon file -> {intent category: subtype}
INTENTS: dict[str, dict[str, str]] = {
    "paid_posting_lexicon.toml": {"deletion": "paid_deletion", "engagement_selling": "fake_engagement",
                                  "contact_lure": "lure_ad", "recruit": "recruitment", "extortion": "extortion"},
    "harassment_lexicon.toml": {"insult": "insult", "putdown": "insult", "dehumanize": "insult", "slur": "hate",
                                "threat": "threat", "doxxing": "doxxing"},
    "subtype_lexicon.toml": {"fabricated_event": "fabricated_event", "disaster_panic": "disaster_panic",
                             "health": "health", "impersonated_notice": "impersonated_notice",
                             "defamation": "defamation"},
}
EVIDENCE_K = 3  # evidence items per subtype


@dataclass
class RiskHead:
    """One risk's subtype classifiers. `cols` are the feature columns with a weight; `coef`
    (k, len(cols)) their weights, `lex_coef` (k, k) the weights of the k intent scores,
    `intercept` (k,); `trained[j]` False: subtype j is scored by its intents alone."""
    subtypes: list[str]
    cols: np.ndarray
    coef: np.ndarray
    lex_coef: np.ndarray
    intercept: np.ndarray
    trained: np.ndarray
    thresholds: np.ndarray

    def weight_matrix(self, n_features: int) -> sp.csr_matrix:
        """The feature weights as an (n_features, k) sparse matrix: X @ W gives the logits' feature part."""
        k, m = self.coef.shape
        rows = np.repeat(self.cols.astype(np.int64), k)
        cols = np.tile(np.arange(k), m)
        return sp.csr_matrix((self.coef.T.ravel(), (rows, cols)), shape=(n_features, k), dtype=np.float32)


class Intents:
    """The lexicons' intent hits of a text, by subtype."""

    def __init__(self, lexicons: dict[str, Lexicon]):
        self.lexicons = lexicons

    def hits(self, text: str) -> dict[str, list]:
        out: dict[str, list] = {}
        for name, lex in self.lexicons.items():
            for h in lex.match(text):
                sub = INTENTS[name].get(h.category)
                if sub:
                    out.setdefault(sub, []).append(h)
        return out

    def matrix(self, texts: list[str], subtypes: list[str]) -> np.ndarray:
        """(n, len(subtypes)): the highest weight of each subtype's intent hits in each text."""
        L = np.zeros((len(texts), len(subtypes)), np.float32)
        for i, t in enumerate(texts):
            for sub, hs in self.hits(t).items():
                if sub in subtypes:
                    L[i, subtypes.index(sub)] = max(h.weight for h in hs)
        return L


def load_intents(paths: dict[str, Path] | None = None) -> Intents:
    """Intents from the lexicon files in `paths` (name -> file; default: the packaged ones)."""
    paths = paths or {name: RESOURCES / name for name in INTENTS}
    return Intents({name: load_lexicon(paths[name]) for name in INTENTS if name in paths})


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


class SubtypeHead:
    """Subtype scores of a risk's posts from their TF-IDF rows and cleaned texts."""

    def __init__(self, heads: dict[str, RiskHead], n_features: int, lexicon_weight: float = 1.0,
                 lexicon_paths: dict[str, Path] | None = None, info: dict | None = None):
        self.heads = heads
        self.n_features = int(n_features)
        self.lexicon_weight = float(lexicon_weight)
        self.lexicon_paths = dict(lexicon_paths or {name: RESOURCES / name for name in INTENTS})
        self.info = dict(info or {})
        self.intents = load_intents(self.lexicon_paths)
        self._W = {r: h.weight_matrix(self.n_features) for r, h in heads.items()}

    def proba(self, risk: str, X, texts: list[str]) -> np.ndarray:
        """(n, k) subtype scores of rows X (TF-IDF) and their cleaned texts, for one risk."""
        h = self.heads[risk]
        L = self.intents.matrix(texts, h.subtypes)
        z = np.asarray((X @ self._W[risk]).todense()) + (self.lexicon_weight * L) @ h.lex_coef.T + h.intercept
        return np.where(h.trained[None, :], sigmoid(z), L)

    def rank(self, risk: str, p: np.ndarray) -> np.ndarray:
        """What the best subtype is chosen by: each score's logit less its subtype's intercept."""
        h = self.heads[risk]
        q = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(q / (1 - q)) - np.where(h.trained, h.intercept, 0.0)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        arrays = {}
        for r, h in self.heads.items():
            arrays.update({f"{r}.cols": h.cols.astype(np.int32), f"{r}.coef": h.coef.astype(np.float32),
                           f"{r}.lex_coef": h.lex_coef.astype(np.float32), f"{r}.intercept": h.intercept.astype(np.float32)})
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path / WEIGHTS))
        files = {}
        for name, src in self.lexicon_paths.items():
            dest = path / f"subtypes.{name}"
            if Path(src).resolve() != dest.resolve():
                dest.write_bytes(Path(src).read_bytes())
            files[name] = dest.name
        cfg = {"format": FORMAT, "n_features": self.n_features, "lexicon_weight": self.lexicon_weight,
               "lexicons": files, "info": self.info,
               "risks": {r: {"subtypes": h.subtypes, "trained": [bool(t) for t in h.trained],
                             "thresholds": [round(float(t), 4) for t in h.thresholds]} for r, h in self.heads.items()}}
        (path / CONFIG).write_text(json.dumps(cfg, ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "SubtypeHead | None":
        """The head saved in model folder `path`, or None when the folder has none; a head that
        cannot be read as it is raises ModelFolderError naming the file and the key."""
        path = Path(path)
        file = path / CONFIG
        if not file.is_file():
            return None
        try:
            cfg = json.loads(file.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ModelFolderError(f"{file}: not valid JSON ({e})") from None
        if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
            raise ModelFolderError(f"{file}: format must be {FORMAT}, not {cfg.get('format') if isinstance(cfg, dict) else cfg!r}")
        n = int(need(cfg, "n_features", file))
        risks = need(cfg, "risks", file)
        arrays = load_arrays(path / WEIGHTS, tuple(f"{r}.{a}" for r in risks for a in ("cols", "coef", "lex_coef", "intercept")))
        heads = {r: _risk_head(r, d, arrays, n, file) for r, d in risks.items()}
        lexicons = {name: inside(path, f, file, f"lexicons.{name}", "file") for name, f in need(cfg, "lexicons", file).items()
                    if name in INTENTS}
        return cls(heads, n, cfg.get("lexicon_weight", 1.0), lexicons, cfg.get("info"))


def _risk_head(risk: str, d: dict, arrays: dict, n_features: int, file: Path) -> RiskHead:
    """One risk's head from subtypes.json's entry `d` and the weights, shapes checked."""
    subs = need(d, "subtypes", file, f"risks.{risk}.")
    if risk not in SUBTYPES or not isinstance(subs, list) or any(s not in SUBTYPES[risk] for s in subs):
        raise ModelFolderError(f"{file}: risks.{risk} names an unknown risk or subtype ({subs!r}); "
                               f"known: {SUBTYPES.get(risk, list(SUBTYPES))}")
    k = len(subs)
    cols, coef = arrays[f"{risk}.cols"], arrays[f"{risk}.coef"]
    want = {"coef": (k, len(cols)), "lex_coef": (k, k), "intercept": (k,)}
    for key, shape in want.items():
        if tuple(arrays[f"{risk}.{key}"].shape) != shape:
            raise ModelFolderError(f"{file.parent / WEIGHTS}: array {risk}.{key} has shape "
                                   f"{tuple(arrays[f'{risk}.{key}'].shape)}, not {shape}")
    trained, thr = need(d, "trained", file, f"risks.{risk}."), need(d, "thresholds", file, f"risks.{risk}.")
    if len(trained) != k or len(thr) != k or (len(cols) and not 0 <= int(cols.min()) <= int(cols.max()) < n_features):
        raise ModelFolderError(f"{file}: risks.{risk}: trained/thresholds need {k} entries and columns "
                               f"must lie in [0, {n_features})")
    return RiskHead(list(subs), cols, coef, arrays[f"{risk}.lex_coef"], arrays[f"{risk}.intercept"],
                    np.array(trained, bool), np.array(thr, np.float32))


def chosen(subtypes: list[str], p: np.ndarray, thresholds: np.ndarray, rank: np.ndarray | None = None) -> list[int]:
    """Indexes of the best subtype (largest `rank`, default the score) and then of the others whose
    score reaches their threshold, by score."""
    best = int(np.argmax(p if rank is None else rank))
    return [best] + [int(j) for j in np.argsort(-p, kind="stable") if j != best and p[j] >= thresholds[j]]


def lexicon_items(ct: CleanText, hits: list) -> list[dict]:
    """Intent hits as evidence items, spans in the original text."""
    out = []
    for h in sorted(hits, key=lambda h: -h.weight):
        s, e = ct.to_original(h.start, h.end)
        out.append({"term": ct.original[s:e], "kind": f"lexicon:{h.category}", "weight": round(float(h.weight), 4),
                    "spans": [[s, e]]})
    return out


def model_items(items: list[dict], contrib: dict[str, float]) -> list[dict]:
    """The risk's evidence words the subtype's weights favour (contribution > 0), strongest first."""
    out = [{"term": it["term"], "kind": "model", "weight": round(contrib[it["term"]], 4), "spans": it["spans"]}
           for it in items if contrib.get(it["term"], 0.0) > 0]
    return sorted(out, key=lambda it: -it["weight"])


def subtype_evidence(ct: CleanText, sub: str, hits: dict, model: list[dict], k: int) -> list[dict]:
    """At most k items: personal data next to a target (doxxing), intent hits, then model words;
    an item whose first span overlaps an earlier item's is left out."""
    items = (doxxing_evidence(ct.original) if sub == "doxxing" else []) + lexicon_items(ct, hits.get(sub, [])) + model
    out, taken = [], []
    for it in items:
        s, e = it["spans"][0]
        if not any(s < te and ts < e for ts, te in taken):
            taken.append((s, e))
            out.append(it)
    return out[:k]


def term_contributions(head: SubtypeHead, featurizer, risk: str, terms: list[str]) -> np.ndarray:
    """(len(terms), k): each evidence word's own features times the subtypes' feature weights."""
    if not terms:
        return np.zeros((0, len(head.heads[risk].subtypes)))
    return np.asarray((featurizer.transform(terms) @ head._W[risk]).todense())


def subtypes_for(head: SubtypeHead | None, featurizer, cleaned: list[CleanText], flags: list[list[str]],
                 X=None, evidence: list[dict] | None = None, k: int = EVIDENCE_K) -> list[dict]:
    """{risk: {subtype: {"score", "evidence"}}} for every flagged risk the head knows, per post.
    `X`: the posts' TF-IDF rows when the scorer has them (else computed by `featurizer`);
    `evidence`: each post's {risk: items} (their words become model evidence)."""
    out: list[dict] = [{} for _ in cleaned]
    if head is None or featurizer is None:
        return out
    if featurizer.config.n_features != head.n_features:
        raise ValueError(f"the subtype head reads {head.n_features} feature columns, the featurizer makes "
                         f"{featurizer.config.n_features}: the head was trained for another model")
    for risk in head.heads:
        idx = [i for i, f in enumerate(flags) if risk in f]
        if not idx:
            continue
        texts = [cleaned[i].text for i in idx]
        rows = X[idx] if X is not None else featurizer.transform(texts)
        P = head.proba(risk, rows, texts)
        items = [(evidence[i] if evidence else {}).get(risk, []) for i in idx]
        terms = sorted({t for its in items for t in evidence_terms(its)})  # featurized once per batch
        C = dict(zip(terms, term_contributions(head, featurizer, risk, terms)))
        for n, i in enumerate(idx):
            out[i][risk] = _post_subtypes(head, risk, cleaned[i], P[n], items[n], C, k)
    return out


def evidence_terms(items: list[dict]) -> list[str]:
    """The words of a risk's evidence that can point to a subtype (contacts cannot)."""
    return sorted({it["term"] for it in items if not str(it.get("kind", "")).startswith("contact")})


def _post_subtypes(head: SubtypeHead, risk: str, ct: CleanText, p: np.ndarray, items: list[dict],
                   C: dict[str, np.ndarray], k: int) -> dict:
    h = head.heads[risk]
    hits = head.intents.hits(ct.text)
    terms = evidence_terms(items)
    result = {}
    for j in chosen(h.subtypes, p, h.thresholds, head.rank(risk, p)):
        contrib = {t: float(C[t][j]) for t in terms} if h.trained[j] else {}
        result[h.subtypes[j]] = {"score": round(float(p[j]), 4),
                                 "evidence": subtype_evidence(ct, h.subtypes[j], hits, model_items(items, contrib), k)}
    return result
