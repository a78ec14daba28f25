"""One split of several sources as the trainers read it: texts (cleaned, or as written), a label
matrix with NaN = not annotated, and the source of every row."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detector.text.cleaning import clean
from training.data.sources import load_source, load_specs
from training.recipe.common import per_risk


@dataclass
class Split:
    """Texts of one split, and a (n, n_labels) label matrix with NaN = not annotated."""
    texts: list[str]
    y: np.ndarray
    source: np.ndarray
    group: np.ndarray | None = None   # each row's incident (sources with an `incident` column), else ""

    def groups(self) -> np.ndarray:
        return self.group if self.group is not None else np.full(len(self.texts), "", object)

    def select(self, keep: np.ndarray) -> "Split":
        """The rows where `keep` is True."""
        return Split([t for t, m in zip(self.texts, keep) if m], self.y[keep], self.source[keep], self.groups()[keep])

    def extend(self, texts: list[str], y: np.ndarray, source: str) -> "Split":
        """These rows plus `texts` with labels `y` from `source`, in no incident (reviewed samples)."""
        return Split(self.texts + list(texts), np.concatenate([self.y, np.asarray(y, float)]),
                     np.concatenate([self.source, np.array([source] * len(texts))]),
                     np.concatenate([self.groups(), np.full(len(texts), "", object)]))


def load_split(sources: list[str], split: str, labels: list[str], root=None, *, evasion: bool | None = True,
               limits: dict[str, int] | None = None, subset: int = 0, seed: int = 0) -> Split:
    """Split `split` of every source, in the order given. A source without this split contributes
    nothing (the team's real comments have no "test" split: their eval is reported apart).

    - `evasion`: the texts cleaned with or without undoing evasions; None keeps them as written
      (for models that clean them themselves).
    - `limits`: {source: n} keeps a random sample of n rows of that source, drawn over the whole
      split with `seed` (training/data/sources.py `load_source`).
    - `subset` > 0: at most that many rows per source, drawn with one generator seeded `seed` for
      all sources in turn (before cleaning, to save time)."""
    specs, rng = load_specs(), np.random.default_rng(seed)
    texts, ys, srcs, groups = [], [], [], []
    for name in sources:
        if name in specs and split not in specs[name].split_names():
            continue
        ds = load_source(name, split, root=root, specs=specs, labels=tuple(labels),
                         limit=int((limits or {}).get(name, 0)), seed=seed)
        if subset and len(ds) > subset:
            ds = ds.select(np.sort(rng.choice(len(ds), int(subset), replace=False)))
        texts.extend(ds["text"] if evasion is None else (clean(t, evasion=evasion).text for t in ds["text"]))
        y = np.array([[np.nan if v is None else v for v in ds[r]] for r in labels], float)
        ys.append(y.T.reshape(len(ds), len(labels)))
        srcs.extend([name] * len(ds))
        groups.extend((g or "" for g in ds["incident"]) if "incident" in ds.column_names else [""] * len(ds))
    return Split(texts, np.concatenate(ys) if ys else np.zeros((0, len(labels))), np.array(srcs),
                 np.array(groups, dtype=object))


def group_scale(y: np.ndarray, source: np.ndarray, group: np.ndarray, caps: dict, risk: str) -> np.ndarray:
    """Row weight multipliers for one risk (`data.group_cap`): in a source with a cap c, the
    positives of one group (an incident) weigh together at most c rows, so one copy-paste campaign
    of 200 comments cannot make its topic's words (a name, a film) features of the risk."""
    scale = np.ones(len(y))
    for src, value in caps.items():
        cap = float(per_risk(value, risk, 0.0))
        if cap <= 0:
            continue
        pos = (source == src) & (y == 1) & (group != "")
        _, inverse, counts = np.unique(group[pos], return_inverse=True, return_counts=True)
        scale[pos] = np.minimum(1.0, cap / counts[inverse])
    return scale
