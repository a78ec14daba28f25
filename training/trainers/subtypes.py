"""Train the subtype head (detector/model/subtypes.py) on the team's subtype labels.

Rows: the positives of each risk in
- the team's real comments (`real`): the `subtypes` column of data/real/labels.tsv.gz, joined by id;
- the team's paid-posting set (`paid_team`): its `category`, mapped by PAID_CATEGORIES where the
  category is one subtype (deletion -> paid_deletion, engagement_selling -> fake_engagement,
  contact_lure -> lure_ad, recruit -> recruitment, extortion -> extortion; the neg_* rows are
  not paid posting and take no part).
The team's written comments (data/team) carry only coarse categories (harassment_positive, ...),
which name no subtype: they take no part.

Per risk, one class-weighted logistic regression per subtype (one-vs-rest over the risk's
positives) on the fast model's TF-IDF rows plus the subtype intent scores; a subtype with fewer
than `min_positives` training rows is scored by its intents alone. Thresholds: best F1 on the dev
rows of `threshold_sources` when a subtype has at least `min_dev_positives` of them there, else
`default_threshold`. A flagged risk always shows its best subtype, and others over threshold.
Every hyperparameter comes from the recipe's [subtypes] table (SubtypeConfig).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from detector.text.cleaning import clean
from detector.model.subtypes import SUBTYPES, RiskHead, SubtypeHead, load_intents
from training.data.sources import PROJECT, load_source, load_specs, read_jsonl, read_labels_tsv
from training.recipe import Model, SubtypeConfig
from training.typed import to_dict

PAID_CATEGORIES = {"deletion": "paid_deletion", "engagement_selling": "fake_engagement", "contact_lure": "lure_ad",
                   "recruit": "recruitment", "extortion": "extortion"}


@dataclass
class SubtypeRows:
    """Cleaned texts, the source of each, and per risk the row indexes that are its positives
    with a subtype of it and their (n_rows, k) 0/1 subtype matrix."""
    texts: list[str]
    sources: list[str]
    risk_rows: dict[str, np.ndarray]
    risk_y: dict[str, np.ndarray]


def real_rows(split: str, root=None) -> list[tuple[str, dict[str, int], set[str]]]:
    """(text, risk labels, subtypes) of the team's real comments of one split."""
    specs = load_specs()
    ds = load_source("real", split, root=root, specs=specs)
    subtypes = {r["id"]: set(r.get("subtypes", [])) for r in read_labels_tsv(PROJECT / specs["real"].labels_path)}
    return [(t, {risk: ds[risk][i] or 0 for risk in SUBTYPES}, subtypes.get(ds["id"][i], set()))
            for i, t in enumerate(ds["text"])]


def paid_rows(split: str) -> list[tuple[str, dict[str, int], set[str]]]:
    """(text, risk labels, subtypes) of the team's paid-posting rows whose category is a subtype."""
    spec = load_specs()["paid_team"]
    rows = read_jsonl(spec.folder(None) / spec.splits[split])
    return [(r["text"], {"paid_posting": 1}, {PAID_CATEGORIES[r["category"]]})
            for r in rows if r.get("label") == 1 and r.get("category") in PAID_CATEGORIES]


def load_rows(cfg: SubtypeConfig, role: str, root=None, evasion: bool = True) -> SubtypeRows:
    """The rows of one role (train, dev, eval) of every configured source."""
    loaders = {"real": lambda s: real_rows(s, root), "paid_team": paid_rows}
    raw, sources = [], []
    for src, roles in cfg.splits.items():
        if src not in loaders:
            raise ValueError(f"[subtypes].splits: unknown source {src!r}; known: {', '.join(loaders)}")
        if role in roles:
            got = loaders[src](roles[role])
            raw.extend(got)
            sources.extend([src] * len(got))
    texts = [clean(t, evasion=evasion).text for t, _, _ in raw]
    rows, ys = {}, {}
    for risk, subs in SUBTYPES.items():
        idx = [i for i, (_, lab, st) in enumerate(raw) if lab.get(risk) == 1 and st & set(subs)]
        rows[risk] = np.array(idx, np.int64)
        ys[risk] = np.array([[int(s in raw[i][2]) for s in subs] for i in idx], np.int8).reshape(len(idx), len(subs))
    return SubtypeRows(texts, sources, rows, ys)


def fit_one(X, y: np.ndarray, cfg: SubtypeConfig, seed: int) -> LogisticRegression:
    clf = LogisticRegression(C=cfg.C, max_iter=cfg.max_iter, solver=cfg.solver, random_state=seed,
                             class_weight=None if cfg.class_weight == "none" else cfg.class_weight)
    return clf.fit(X, y)


def best_threshold(y: np.ndarray, p: np.ndarray, default: float) -> float:
    """The score threshold with the best F1 on (y, p) (the lower one on ties)."""
    best, thr = -1.0, default
    for t in np.unique(p):
        pred = p >= t
        tp = int((pred & (y == 1)).sum())
        f1 = 2 * tp / max(int(pred.sum()) + int((y == 1).sum()), 1)
        if f1 > best:
            best, thr = f1, float(t)
    return thr


def fit_risk(risk: str, Xtr, Ltr, ytr: np.ndarray, cfg: SubtypeConfig, seed: int) -> RiskHead:
    """One risk's subtype classifiers; columns of X no training row has get no weight."""
    subs = list(SUBTYPES[risk])
    k = len(subs)
    cols = np.unique(Xtr.indices).astype(np.int32)
    Z = sp.hstack([Xtr[:, cols], sp.csr_matrix(cfg.lexicon_weight * Ltr)], format="csr")
    coef, lex, b = np.zeros((k, len(cols)), np.float32), np.zeros((k, k), np.float32), np.zeros(k, np.float32)
    trained = np.array([0 < ytr[:, j].sum() and ytr[:, j].sum() >= cfg.min_positives and ytr[:, j].sum() < len(ytr)
                        for j in range(k)], bool)
    for j in np.flatnonzero(trained):
        clf = fit_one(Z, ytr[:, j], cfg, seed)
        coef[j], lex[j], b[j] = clf.coef_[0, :len(cols)], clf.coef_[0, len(cols):], clf.intercept_[0]
    return RiskHead(subs, cols, coef, lex, b, trained, np.full(k, cfg.default_threshold, np.float32))


def set_thresholds(head: SubtypeHead, risk: str, Xdev, texts: list[str], ydev: np.ndarray,
                   cfg: SubtypeConfig) -> dict:
    """Thresholds from the dev rows where a subtype has enough of them; returns how each was set."""
    h = head.heads[risk]
    how = {}
    P = head.proba(risk, Xdev, texts) if len(texts) else np.zeros((0, len(h.subtypes)))
    for j, sub in enumerate(h.subtypes):
        n = int(ydev[:, j].sum()) if len(ydev) else 0
        if n >= cfg.min_dev_positives:
            h.thresholds[j] = best_threshold(ydev[:, j], P[:, j], cfg.default_threshold)
            how[sub] = f"dev F1 ({n} dev positives)"
        else:
            how[sub] = f"default ({n} dev positives)"
    return how


def train_subtypes(cfg: SubtypeConfig | dict, featurizer, root=None, seed: int = Model.seed, evasion: bool = True,
                   log=print) -> SubtypeHead:
    """The subtype head for the recipe's [subtypes] table, on the fitted `featurizer`'s features."""
    cfg = cfg if isinstance(cfg, SubtypeConfig) else SubtypeConfig.from_dict(cfg)
    intents = load_intents()
    tr, dev = load_rows(cfg, "train", root, evasion), load_rows(cfg, "dev", root, evasion)
    heads, counts = {}, {}
    for risk, subs in SUBTYPES.items():
        texts = [tr.texts[i] for i in tr.risk_rows[risk]]
        X = featurizer.transform(texts)
        heads[risk] = fit_risk(risk, X, intents.matrix(texts, list(subs)), tr.risk_y[risk], cfg, seed)
        counts[risk] = {s: {"train": int(tr.risk_y[risk][:, j].sum()), "dev": int(dev.risk_y[risk][:, j].sum())}
                        for j, s in enumerate(subs)}
    head = SubtypeHead(heads, featurizer.config.n_features, cfg.lexicon_weight,
                       info={"config": to_dict(cfg), "counts": counts, "paid_categories": PAID_CATEGORIES})
    head.info["thresholds"] = {}
    for risk in SUBTYPES:
        keep = [n for n, i in enumerate(dev.risk_rows[risk]) if dev.sources[i] in cfg.threshold_sources]
        texts = [dev.texts[dev.risk_rows[risk][n]] for n in keep]
        head.info["thresholds"][risk] = set_thresholds(head, risk, featurizer.transform(texts), texts,
                                                       dev.risk_y[risk][keep], cfg)
        log(f"subtypes {risk}: " + ", ".join(f"{s} {c['train']}/{c['dev']}" for s, c in counts[risk].items())
            + " train/dev rows")
    return head


def attach_to_folder(model_dir: str | Path, recipe_table: SubtypeConfig | dict, out: str | Path | None = None, root=None,
                     log=print) -> Path:
    """Train a subtype head on the features of an existing fast model folder and save it into
    `out` (a copy of the folder; default: the folder itself)."""
    import shutil

    from detector.model.core import Detector

    det = Detector.from_pretrained(model_dir)
    src, _ = Detector.read_config(model_dir)
    dest = Path(out) if out else src
    if dest.resolve() != src.resolve():
        shutil.copytree(src, dest, dirs_exist_ok=True)
    seed = int(det.config.get("recipe", {}).get("model", {}).get("seed", Model.seed))
    head = train_subtypes(recipe_table, det.scorer.featurizer, root, seed, det.evasion, log)
    head.save(dest)
    return dest
