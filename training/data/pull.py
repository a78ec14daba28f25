"""`jingwang data pull`: copy datasets from a local mirror, or download them from their
upstream repositories and convert them to the JSONL layout, then check sha256."""
from __future__ import annotations

import csv
import io
import json
import shutil
import urllib.request
from pathlib import Path
from typing import Iterator

from training.data.sources import SourceSpec, default_root, load_specs, sha256_file

RAW = "https://raw.githubusercontent.com/{repo}/HEAD/{file}"


def _repo(url: str) -> str:
    return url.rstrip("/").split("github.com/", 1)[1]


def _fetch(spec: SourceSpec, file: str) -> bytes:
    url = RAW.format(repo=_repo(spec.upstream), file=file)
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.read()
    except OSError as e:
        raise OSError(f"cannot download {url}: {e}; use --mirror DIR with a local copy") from None


def _cold_rows(raw: bytes, split: str) -> list[dict]:
    rows = []
    for i, r in enumerate(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))):
        text = r.get("TEXT") or r.get("text") or ""
        row = {"id": f"cold-{split}-{i}", "text": text, "label": int(r["label"]),
               "topic": r.get("topic") or r.get("TOPIC") or ""}
        if r.get("fine-grained-label") not in (None, ""):
            row["fine_label"] = int(r["fine-grained-label"])
        rows.append(row)
    return rows


def _sms_rows(contents: bytes, labels: bytes, limit: int) -> list[dict]:
    texts, labs = json.loads(contents), json.loads(labels)
    n = min(limit or len(texts), len(texts))
    return [{"id": f"smsspam-{i}", "text": texts[i], "label": int(labs[i])} for i in range(n)]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def download(spec: SourceSpec, folder: Path) -> None:
    """Upstream -> folder/<split>.jsonl. Weibo21 upstream is pickled pandas data: not loaded
    (unpickling runs arbitrary code); get it from a mirror instead."""
    if spec.name == "cold":
        for split, file in zip(spec.splits, spec.upstream_files):
            _write_jsonl(folder / spec.splits[split], _cold_rows(_fetch(spec, file), split))
    elif spec.name == "sms_spam":
        content, labels = (_fetch(spec, f) for f in spec.upstream_files)
        _write_jsonl(folder / spec.splits["all"], _sms_rows(content, labels, spec.upstream_limit))
    else:
        raise ValueError(f"{spec.name}: upstream {spec.upstream} ships a format that is not converted "
                         f"here (pickled or unlabeled data); use --mirror DIR with a copy of the "
                         f"converted JSONL files")


def pull(names: list[str] | None, dest: Path | None, mirror: Path | None) -> Iterator[str]:
    specs = load_specs()
    dest = Path(dest) if dest else default_root()
    for name in names or [n for n, s in specs.items() if not s.path]:
        if name not in specs:
            raise ValueError(f"unknown dataset {name!r}; configured: {', '.join(specs)}")
        spec = specs[name]
        folder = dest / spec.local
        folder.mkdir(parents=True, exist_ok=True)
        if mirror:
            for file in spec.splits.values():
                src = Path(mirror) / spec.local / file
                if not src.is_file():
                    raise FileNotFoundError(f"mirror has no {src}")
                if src.resolve() != (folder / file).resolve():
                    shutil.copyfile(src, folder / file)
        else:
            download(spec, folder)
        yield from _check(spec, folder)


def _check(spec: SourceSpec, folder: Path) -> Iterator[str]:
    for split, file in spec.splits.items():
        got = sha256_file(folder / file)
        want = spec.sha256.get(split)
        if want and got != want:
            yield f"{spec.name}/{file}: sha256 MISMATCH (got {got[:12]}…, expected {want[:12]}…)"
        else:
            yield f"{spec.name}/{file}: ok ({got[:12]}…)"
