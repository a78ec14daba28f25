"""The text side of `jingwang model adapt`: read JSONL texts, leave out the team's evaluation rows,
hold out a random sample, cut the rest into length-grouped batches, and mask them BERT's way.

Every random choice is a pure function of the seed and the step (the epoch order, the batch of a
step, its masks), never of a generator's running state, so a run resumed from a checkpoint draws
exactly what the uninterrupted run draws."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from detector.batch.io import BadRecord, iter_jsonl
from training.data.sources import (PROJECT, SourceSpec, hash_unit, load_specs, read_jsonl_checked, sha256_file,
                                   team_labels)

# The team's evaluation sets (configs/datasets.toml: source -> split): never adapted on.
# A labeled source (`labels_path`) is left out by its ids (and their texts), a file by its texts.
TEAM_EVAL = {"real": "eval", "paid_team": "test"}
EMPTY_REASON = "empty text"  # records the batch checks call empty: skipped, counted


@dataclass
class Corpus:
    """Distinct texts of the --data files in file order, with their ids (`line-N` when a row has
    none, as the batch readers name it)."""
    ids: list[str] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)


def read_corpus(files: list[Path]) -> Corpus:
    """The `text` of every JSONL row of `files` (an exact repeat of an earlier text is kept once).
    A row that is not a JSON object with a text is a ValueError naming the file and line; a row
    whose text is empty or invisible is skipped and counted."""
    corpus, seen = Corpus(), set()
    for file in map(Path, files):
        if not file.is_file():
            raise FileNotFoundError(f"no data file at {file}")
        rows = skipped = repeats = 0
        with open(file, "rb") as f:
            for item in iter_jsonl(f, "text", "id"):
                if isinstance(item, BadRecord):
                    if item.reason.startswith(EMPTY_REASON):
                        skipped += 1
                        continue
                    raise ValueError(f"{file}:{item.line}: {item.reason}")
                rows += 1
                if item.text in seen:
                    repeats += 1
                    continue
                seen.add(item.text)
                corpus.ids.append(str(item.record["id"]))
                corpus.texts.append(item.text)
        corpus.files.append({"path": str(file), "sha256": sha256_file(file), "rows": rows,
                             "skipped_empty": skipped, "repeated_texts": repeats})
    return corpus


def _label_split_ids(spec: SourceSpec, split: str) -> set[str]:
    ranges = spec.label_splits[split]
    ranges = ranges if isinstance(ranges[0], list) else [ranges]
    return {r["id"] for r in team_labels(spec)
            if any(r["split"] == want and lo <= hash_unit(r["id"]) < hi for want, lo, hi in ranges)}


def team_eval_rows(specs: dict[str, SourceSpec] | None = None) -> tuple[set[str], set[str], dict]:
    """(ids, texts, description) of the team's evaluation rows (TEAM_EVAL)."""
    specs = specs or load_specs()
    ids, texts, info = set(), set(), {}
    for name, split in TEAM_EVAL.items():
        spec = specs[name]
        if spec.label_splits:
            found = _label_split_ids(spec, split)
            ids |= found
            info[name] = {"split": split, "ids": len(found), "labels": spec.labels_path}
        else:
            file = spec.folder(None) / spec.splits[split]
            found = {str(r["text"]) for r in read_jsonl_checked(file)}
            texts |= found
            info[name] = {"split": split, "texts": len(found), "file": str(file.relative_to(PROJECT))
                          if file.is_relative_to(PROJECT) else str(file)}
    return ids, texts, info


def read_id_file(file: Path) -> set[str]:
    """Ids to leave out: one a line, or the `id` of each row of a .jsonl file."""
    file = Path(file)
    if file.suffix == ".jsonl":
        rows = read_jsonl_checked(file)
        missing = next((i for i, r in enumerate(rows, 1) if not isinstance(r, dict) or "id" not in r), None)
        if missing:
            raise ValueError(f"{file}:{missing}: no `id` to exclude")
        return {str(r["id"]) for r in rows}
    return {line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()}


def keep_indices(corpus: Corpus, ids: set[str], texts: set[str]) -> tuple[np.ndarray, dict]:
    """Indices of the corpus rows to adapt on: not an excluded id, nor the text of one, nor an
    excluded text; and the counts of each."""
    by_id = {i for i, rid in enumerate(corpus.ids) if rid in ids}
    texts = texts | {corpus.texts[i] for i in by_id}
    by_text = {i for i, t in enumerate(corpus.texts) if t in texts} - by_id
    keep = np.array([i for i in range(len(corpus.texts)) if i not in by_id and i not in by_text], dtype=np.int64)
    return keep, {"excluded_by_id": len(by_id), "excluded_by_text": len(by_text)}


def split_holdout(keep: np.ndarray, holdout: int, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out, training) corpus indices: a random `holdout` of `keep` (fixed seed), the rest."""
    if len(keep) < holdout + batch_size:
        raise ValueError(f"{len(keep):,} texts to adapt on: too few for --holdout {holdout:,} and one batch "
                         f"of {batch_size}")
    perm = keep[np.random.default_rng([seed, 0]).permutation(len(keep))]
    return np.sort(perm[:holdout]), perm[holdout:]


class Batches:
    """The texts of each step: epochs of the training pool in a seeded random order; every
    `group` steps' texts sorted by length and cut into batches (less padding), the batches of a
    group in a seeded random order. `of(step)` depends on nothing else."""

    def __init__(self, pool: np.ndarray, lengths: np.ndarray, batch_size: int, seed: int, group: int):
        self.pool, self.lengths = pool, lengths
        self.batch_size, self.seed, self.group = batch_size, seed, max(1, group)
        self._epoch: tuple[int, np.ndarray] | None = None
        self._chunk: tuple[int, list[np.ndarray]] | None = None

    def _order(self, epoch: int) -> np.ndarray:
        if self._epoch is None or self._epoch[0] != epoch:
            self._epoch = (epoch, self.pool[np.random.default_rng([self.seed, 1, epoch]).permutation(len(self.pool))])
        return self._epoch[1]

    def _positions(self, start: int, n: int) -> np.ndarray:
        out, n_pool = [], len(self.pool)
        while n > 0:
            epoch, at = divmod(start, n_pool)
            take = min(n, n_pool - at)
            out.append(self._order(epoch)[at:at + take])
            start, n = start + take, n - take
        return np.concatenate(out)

    def of(self, step: int) -> np.ndarray:
        chunk, at = divmod(step, self.group)
        if self._chunk is None or self._chunk[0] != chunk:
            size = self.batch_size * self.group
            idx = self._positions(chunk * size, size)
            if self.group > 1:
                idx = idx[np.argsort(self.lengths[idx], kind="stable")]
            batches = [idx[i:i + self.batch_size] for i in range(0, size, self.batch_size)]
            order = np.random.default_rng([self.seed, 2, chunk]).permutation(len(batches))
            self._chunk = (chunk, [batches[i] for i in order])
        return self._chunk[1][at]


def step_generator(seed: int, step: int, stream: int = 3):
    """A torch generator for one step's random draws (masks)."""
    import torch

    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, stream, step]).generate_state(1)[0]))


def mask_tokens(ids, special, mask_id: int, normal_ids, prob: float, gen):
    """BERT masking (as transformers' DataCollatorForLanguageModeling, with an explicit generator):
    each non-special token is chosen with `prob` (at least one per batch); of those 80% become
    the mask token, 10% a random non-special token, 10% stay. Returns (inputs, labels), labels
    -100 where not chosen."""
    import torch

    chosen = (torch.rand(ids.shape, generator=gen) < prob) & ~special
    if not chosen.any():
        candidates = (~special).nonzero()
        pick = candidates[torch.randint(len(candidates), (1,), generator=gen)][0]
        chosen[pick[0], pick[1]] = True
    labels = torch.where(chosen, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, generator=gen)
    inputs = torch.where(chosen & (r < 0.8), torch.full_like(ids, mask_id), ids)
    swap = chosen & (r >= 0.8) & (r < 0.9)
    random_ids = normal_ids[torch.randint(len(normal_ids), ids.shape, generator=gen)]
    return torch.where(swap, random_ids, inputs), labels


def encode(tokenizer, texts: list[str], max_length: int, special_ids: set[int]):
    """(input_ids, attention_mask, special) tensors of `texts`, right-padded to the longest."""
    import torch

    from detector.scorers.padding import pad_batch

    ids = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
    input_ids, attention = (torch.from_numpy(a) for a in pad_batch(ids, tokenizer.pad_token_id))
    special = torch.isin(input_ids, torch.tensor(sorted(special_ids))) | (attention == 0)
    return input_ids, attention, special
