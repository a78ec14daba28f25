"""Model registry: `models/NAME/` holds numbered versions `v0001/`, `v0002/`, ... and a `current`
symlink to one of them. `Detector.from_pretrained("models/NAME")` loads whatever `current` points to.

- A version folder is complete before it gets its number: it is built elsewhere inside the
  registry (`.staging-*`) and renamed into place, so a reader never sees half a model.
- `current` is switched atomically: a new symlink is made under a temporary name and renamed
  over the old one (`os.replace`), so a reader sees the old or the new version, never neither.
- Every switch is appended to `history.jsonl` (what, from, to, when, why) and fsynced BEFORE the
  link moves, so a switch a reader may have seen is never missing from the history; `rollback`
  goes back to the version that was current before. Temporary links and staging folders left by a
  crashed process are removed by the next writer."""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

CURRENT = "current"
HISTORY = "history.jsonl"
VERSION_RE = re.compile(r"^v(\d{4,})$")


def version_name(n: int) -> str:
    return f"v{n:04d}"


def is_plain_model(path: Path) -> bool:
    return (Path(path) / "config.json").is_file()


class Registry:
    """The numbered versions of one model name, and which one is current."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        if is_plain_model(self.root):
            raise ValueError(f"{self.root} is a plain model folder (it has config.json), not a registry of "
                             f"versions; give a new folder, e.g. models/NAME, and --from {self.root} to start it")

    @property
    def name(self) -> str:
        return self.root.name

    # -- reading -----------------------------------------------------------------------------

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        found = [(int(m.group(1)), p.name) for p in self.root.iterdir()
                 if p.is_dir() and not p.is_symlink() and (m := VERSION_RE.match(p.name))]
        return [name for _, name in sorted(found)]

    def current(self) -> str | None:
        link = self.root / CURRENT
        if not link.is_symlink():
            return None
        target = Path(os.readlink(link)).name
        return target if (self.root / target / "config.json").is_file() else None

    def path(self, version: str) -> Path:
        return self.root / self.resolve(version)

    def resolve(self, spec: str | int) -> str:
        """"3", 3, "v3" or "v0003" -> "v0003", if that version exists."""
        s = str(spec).strip()
        m = re.fullmatch(r"v?(\d+)", s)
        if not m:
            raise ValueError(f"{spec!r} is not a version (use a number or vNNNN)")
        name = version_name(int(m.group(1)))
        versions = self.versions()
        if name not in versions:
            raise ValueError(f"{self.root} has no version {name}; versions: {', '.join(versions) or 'none'}")
        return name

    def history(self) -> list[dict]:
        """The switches, oldest first (a line torn by a crash is skipped)."""
        path = self.root / HISTORY
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def next_number(self) -> int:
        vs = self.versions()
        return int(VERSION_RE.match(vs[-1]).group(1)) + 1 if vs else 1

    # -- writing -----------------------------------------------------------------------------

    @contextmanager
    def lock(self, name: str = ".lock", wait: bool = True):
        """An exclusive lock on the registry (per lock name), across processes."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / name, "w") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise ValueError(f"{self.root} is busy: another process holds {name} (is a retrain running?)") from None
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def staging(self) -> Path:
        """A fresh folder inside the registry to build a version in (same filesystem: rename is
        atomic); staging folders of processes that died are removed first."""
        self.root.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(self.root)
        path = self.root / f".staging-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        path.mkdir()
        return path

    def add(self, folder: str | Path, number: int | None = None, current_reason: str | None = None) -> str:
        """Give a complete model folder (built in `staging()`) its version number; returns its name.
        With `current_reason`, the version is also made current under the same lock."""
        folder = Path(folder)
        if not is_plain_model(folder):
            raise ValueError(f"{folder} is not a model folder (no config.json)")
        with self.lock():
            name = version_name(number or self.next_number())
            target = self.root / name
            if target.exists():
                raise ValueError(f"{target} already exists")
            os.rename(folder, target)
            _fsync_dir(self.root)
            if current_reason is not None:
                self._switch(name, "promote", current_reason)
        return name

    def add_copy(self, model: str | Path, current_reason: str | None = None) -> str:
        """Copy an existing model folder in as the next version (made current with `current_reason`)."""
        model = Path(model)
        if not is_plain_model(model):
            raise ValueError(f"no model at {model}: expected a folder with config.json")
        tmp = self.staging()
        try:
            shutil.copytree(model, tmp, dirs_exist_ok=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return self.add(tmp, current_reason=current_reason)

    def _switch(self, version: str, event: str, reason: str, extra: dict | None = None) -> tuple[str | None, str]:
        """Move `current` to `version` (the caller holds the lock): history first, fsynced, then the link."""
        for stale in self.root.glob(f".{CURRENT}.tmp-*"):  # left by a crash: under the lock, nobody else's
            stale.unlink(missing_ok=True)
        old = self.current()
        entry = {"event": event, "from": old, "to": version, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                 "reason": reason, **(extra or {})}
        _append_synced(self.root / HISTORY, json.dumps(entry, ensure_ascii=False))
        tmp = self.root / f".{CURRENT}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            os.symlink(version, tmp)  # relative: the registry can be moved or copied
            os.replace(tmp, self.root / CURRENT)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)
        return old, version

    def promote(self, version: str | int, reason: str = "", extra: dict | None = None) -> tuple[str | None, str]:
        """Make `version` current (atomically); returns (previous, new)."""
        with self.lock():
            name = self.resolve(version)
            if not is_plain_model(self.root / name):
                raise ValueError(f"{self.root / name} is not a complete model (no config.json)")
            return self._switch(name, "promote", reason or "promoted by hand", extra)

    def rollback(self, to: str | int | None = None, reason: str = "") -> tuple[str | None, str]:
        """Make the version that was current before the present one was promoted current again (or
        `to`); rolling back twice goes two promotions back, not forth again."""
        with self.lock():
            cur = self.current()
            if to is not None:
                target = self.resolve(to)
            else:
                target, versions = None, self.versions()  # the folder cannot change under the lock
                for e in reversed(self.history()):
                    if (e.get("event") == "promote" and e.get("to") == cur and e.get("from")
                            and e["from"] != cur and e["from"] in versions):
                        target = e["from"]
                        break
                if target is None:
                    older = [v for v in versions if cur is None or v < cur]
                    if not older:
                        raise ValueError(f"{self.root}: nothing to roll back to (current is {cur or 'unset'})")
                    target = older[-1]
            if target == cur:
                raise ValueError(f"{self.root}: {target} is already current")
            return self._switch(target, "rollback", reason or "rolled back by hand")


def _append_synced(path: Path, line: str) -> None:
    """Append one line and fsync it (after a newline if a crash left the last line torn)."""
    with open(path, "a+b") as f:
        f.seek(0, os.SEEK_END)
        torn = False
        if f.tell():
            f.seek(-1, os.SEEK_END)
            torn = f.read(1) != b"\n"
        f.seek(0, os.SEEK_END)
        f.write((("\n" if torn else "") + line + "\n").encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())
    _fsync_dir(path.parent)


def _remove_stale_staging(root: Path) -> None:
    """Remove `.staging-PID-*` folders whose process no longer runs (a crash mid-build)."""
    for p in root.glob(".staging-*"):
        m = re.match(r"\.staging-(\d+)-", p.name)
        if m and not _alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _short_metrics(metrics: dict) -> dict:
    """{risk: {source: macro_f1}} from a metrics.json (test_by_source), else {risk: macro_f1 on test}."""
    by_source = metrics.get("test_by_source")
    if by_source:
        return {r: {s: round(m["macro_f1"], 4) for s, m in srcs.items()} for r, srcs in by_source.items()}
    return {r: round(m["macro_f1"], 4) for r, m in metrics.get("test", {}).items()}


def list_versions(root: str | Path) -> list[dict]:
    """One summary per version: number, current?, model id, created, data, test macro-F1, retrain decision."""
    reg = Registry(root)
    if not reg.root.is_dir():
        raise FileNotFoundError(f"no model registry at {reg.root}")
    cur, out = reg.current(), []
    for v in reg.versions():
        p = reg.root / v
        cfg = _read_json(p / "config.json")
        metrics = _read_json(p / "metrics.json")
        report = _read_json(p / "retrain_report.json")
        recipe = cfg.get("recipe", {})
        reviewed = cfg.get("reviewed") or {}
        out.append({
            "version": v, "current": v == cur,
            "model": f"{cfg.get('name', '?')}@{cfg.get('version', '?')}",
            "created_at": cfg.get("created_at", ""),
            "sources": list(recipe.get("data", {}).get("sources", [])),
            "reviewed": reviewed.get("n_train"),
            "metrics": _short_metrics(metrics) if metrics else {},
            "decision": ("promoted" if report.get("promoted") else "kept current") if report else "",
            "reason": report.get("reason", ""),
        })
    return out


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
