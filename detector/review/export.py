"""Decisions out of the review queue, and labels from Label Studio back in.

- `jsonl`: one training row per reviewed post: `id`, `text`, `labels` {risk: 0|1}, one column
  per risk, and who decided it, when, with which note; what the model said rides along.
- `label-studio`: a JSON list of Label Studio tasks (`data.text`, `data.post_id`), with the model's
  flags as a prediction and, for a reviewed item, our reviewer's labels as an annotation (Label
  Studio's import format: `annotations: [{"result": [{"from_name", "to_name", "type": "choices",
  "value": {"choices": [...]}}]}]`); the labeling config is written beside it.
- `argilla`: JSONL of Argilla records (`id`, `fields.text`, `metadata`, `suggestions` from the
  model, `responses` from our reviewers) for a dataset with a multi-label question `risks`.

Both offer one more choice than the risks, `not_risky`: Argilla refuses an empty answer to a
multi-label question, so "no risk" has to be a label of its own (and Label Studio shows it as chosen).

`import_label_studio` reads a Label Studio export (JSON, or JSON-MIN) back: every submitted
annotation becomes a decision with an idempotent id, so importing the same export twice changes
nothing; an annotation we exported ourselves that still says what the queue says is not a new decision."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from detector.review.db import DecisionConflict, ItemNotFound, ReviewDB

FORMATS = ("jsonl", "label-studio", "argilla")
CONTROL = "risks"  # name of the multi-choice control / question
NOT_RISKY = "not_risky"  # the choice for "none of the risks"
OURS = "jw-review-"  # id prefix of the annotation results we export (a reviewer's decision)


def choice_values(labels: list[str]) -> list[str]:
    """The choices of the `risks` control / question: the risks, then `not_risky`."""
    if NOT_RISKY in labels:
        raise ValueError(f"a risk may not be called {NOT_RISKY!r}: it is the export's choice for no risk")
    return [*labels, NOT_RISKY]


def _chosen(yes: list[str]) -> list[str]:
    return list(yes) or [NOT_RISKY]


def _choices_result(rid: str, choices: list[str]) -> dict:
    return {"id": rid, "from_name": CONTROL, "to_name": "text", "type": "choices", "value": {"choices": choices}}


def label_studio_config(labels: list[str]) -> str:
    choices = "\n".join(f"    <Choice value={quoteattr(r)}/>" for r in choice_values(labels))
    return ("<View>\n  <Text name=\"text\" value=\"$text\"/>\n"
            f"  <Choices name=\"{CONTROL}\" toName=\"text\" choice=\"multiple\" showInLine=\"true\">\n"
            f"{choices}\n  </Choices>\n</View>\n")


def _training_row(item: dict, labels: list[str]) -> dict:
    row = {"id": item["id"], "text": item["text"], "labels": item["labels"]}
    row.update({r: item["labels"][r] for r in labels})
    row.update(reviewer=item["reviewer"], decided_at=item["decided_at"], note=item["note"] or "",
               n_decisions=item["n_decisions"], model=item["model"], model_scores=item["scores"],
               model_flags=item["flags"])
    return row


def _ls_task(item: dict, labels: list[str]) -> dict:
    data = {"text": item["text"], "post_id": item["id"], "priority": item["priority"],
            "model_scores": item["scores"], "model_flags": item["flags"]}
    task = {"data": data}
    if item["labels"] is not None:
        data.update(reviewer=item["reviewer"], review_note=item["note"] or "")
        yes = [r for r in labels if item["labels"].get(r) == 1]
        task["annotations"] = [{"result": [_choices_result(f"{OURS}{item['version']}", _chosen(yes))]}]
    if item["scores"]:
        task["predictions"] = [{"model_version": item["model"] or "jingwang", "score": item["priority"],
                                "result": [_choices_result("jw-model", _chosen(item["flags"]))]}]
    return task


def _argilla_record(item: dict, labels: list[str]) -> dict:
    rec = {"id": item["id"], "fields": {"text": item["text"]},
           "metadata": {"priority": item["priority"], "model": item["model"],
                        **{f"score_{r}": item["scores"].get(r) for r in labels if r in item["scores"]}}}
    if item["scores"]:  # a score per chosen label; none for not_risky (the model gives it no probability)
        flags = [r for r in item["flags"] if r in item["scores"]]
        rec["suggestions"] = [{"question_name": CONTROL, "value": _chosen(flags),
                               "score": [item["scores"][r] for r in flags] if flags else None, "agent": item["model"]}]
    if item["labels"] is not None:
        rec["responses"] = [{"question_name": CONTROL, "value": _chosen([r for r in labels if item["labels"].get(r) == 1]),
                             "user": item["reviewer"], "status": "submitted"}]
    return rec


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def export(db: str | Path | ReviewDB, fmt: str, out: str | Path, status: str = "reviewed", mask: bool = True) -> int:
    """Write the items of `status` (reviewed by default) in `fmt` to `out`; returns how many.
    Personal data in the texts is masked (`138****5678`) unless `mask` is False (`--no-mask`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "jsonl" and status != "reviewed":
        raise ValueError("the jsonl export is training data: only reviewed items (--status reviewed)")
    rdb = db if isinstance(db, ReviewDB) else ReviewDB(db, create=False)
    labels, out = rdb.labels, Path(out)
    choice_values(labels)  # refuses a risk named like the no-risk choice
    items = list(rdb.iter_items(status))
    if mask:
        from detector.text.pii import mask_text

        items = [{**it, "text": mask_text(it["text"])} for it in items]
    if fmt == "jsonl":
        text = "".join(json.dumps(_training_row(it, labels), ensure_ascii=False) + "\n" for it in items)
    elif fmt == "argilla":
        text = "".join(json.dumps(_argilla_record(it, labels), ensure_ascii=False) + "\n" for it in items)
    else:
        text = json.dumps([_ls_task(it, labels) for it in items], ensure_ascii=False, indent=1) + "\n"
        _atomic_write(out.with_name(out.stem + ".label_config.xml"), label_studio_config(labels))
    _atomic_write(out, text)
    return len(items)


@dataclass
class LabelImport:
    tasks: int = 0
    annotations: int = 0
    applied: int = 0
    duplicates: int = 0
    new_items: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def _choices(result) -> list[str] | None:
    """Choices of the `risks` control in one annotation's result; None if it has none at all."""
    chosen = None
    for r in result if isinstance(result, list) else []:
        if isinstance(r, dict) and r.get("type") == "choices" and r.get("from_name") == CONTROL:
            value = r.get("value") if isinstance(r.get("value"), dict) else {}
            got = value.get("choices") if isinstance(value.get("choices"), list) else []
            chosen = (chosen or []) + [c for c in got if isinstance(c, str)]
    return chosen


def _ours(result) -> bool:
    """True for an annotation we exported (a reviewer's decision already in the queue)."""
    return isinstance(result, list) and any(isinstance(r, dict) and str(r.get("id", "")).startswith(OURS) for r in result)


def _who(completed_by) -> str:
    if isinstance(completed_by, dict):
        completed_by = completed_by.get("email") or completed_by.get("username") or completed_by.get("id")
    return f"label-studio:{completed_by if completed_by not in (None, '') else 'unknown'}"


def _annotations(task: dict) -> list[tuple]:
    """(annotation id, who, chosen risks or None, when, exported by us) for each submitted annotation."""
    if "annotations" in task:
        given = task["annotations"] if isinstance(task["annotations"], list) else []
        anns = [a for a in given if isinstance(a, dict) and not a.get("was_cancelled")]
        anns.sort(key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), str(a.get("id"))))
        return [(a.get("id"), _who(a.get("completed_by")), _choices(a.get("result")),
                 str(a.get("updated_at") or a.get("created_at") or ""), _ours(a.get("result"))) for a in anns]
    if CONTROL not in task:  # JSON-MIN: {"id", "text", "risks": [...] or {"choices": [...]}, "annotator", "annotation_id"}
        return []
    ch = task.get(CONTROL)
    ch = ch.get("choices") if isinstance(ch, dict) else ([ch] if isinstance(ch, str) else ch)
    return [(task.get("annotation_id"), _who(task.get("annotator")), [c for c in ch if isinstance(c, str)]
             if isinstance(ch, list) else [], str(task.get("updated_at") or ""), False)]


def _decision_labels(chosen: list[str] | None, labels: list[str]) -> dict[str, int]:
    """{risk: 0|1} from the chosen choices; a ValueError for unknown ones or not_risky with a risk."""
    chosen = chosen or []
    unknown = [c for c in chosen if c not in labels and c != NOT_RISKY]
    if unknown:
        raise ValueError(f"unknown choices {unknown}")
    if NOT_RISKY in chosen and len(set(chosen)) > 1:
        raise ValueError(f"{NOT_RISKY} chosen together with {', '.join(c for c in chosen if c != NOT_RISKY)}")
    return {r: int(r in chosen) for r in labels}


def _same_as_queue(rdb: ReviewDB, post_id: str, decided: dict) -> bool:
    try:
        return rdb.get_item(post_id, history=False)["labels"] == decided
    except ItemNotFound:
        return False


def import_label_studio(db: str | Path | ReviewDB, path: str | Path) -> LabelImport:
    """Decisions from a Label Studio export of our tasks (JSON with `annotations`, or JSON-MIN)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"cannot read {path}: no such file")
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a Label Studio JSON export ({e.msg}, line {e.lineno})") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not a Label Studio JSON export (not UTF-8 at byte {e.start})") from None
    except RecursionError:
        raise ValueError(f"{path}: not a Label Studio JSON export (nested too deeply)") from None
    if isinstance(tasks, dict):
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise ValueError(f"{path}: expected a JSON list of tasks")
    rdb = db if isinstance(db, ReviewDB) else ReviewDB(db)
    labels, s = rdb.labels, LabelImport()
    for n, task in enumerate(tasks, 1):
        s.tasks += 1
        if not isinstance(task, dict):
            s.skipped += 1
            continue
        data = task.get("data") if isinstance(task.get("data"), dict) else task  # JSON-MIN is flat
        post_id, text = data.get("post_id") or data.get("id"), data.get("text")
        if post_id in (None, "") or isinstance(post_id, (dict, list, bool)):
            s.skipped += 1
            s.problems.append(f"task {n}: no post_id")
            continue
        post_id = str(post_id)
        queued = not (isinstance(text, str) and text.strip())  # a post without text is not queued here
        for k, (ann_id, who, chosen, when, ours) in enumerate(_annotations(task)):
            s.annotations += 1
            try:
                decided = _decision_labels(chosen, labels)
                if ours and _same_as_queue(rdb, post_id, decided):  # our own export, unchanged in Label Studio
                    s.duplicates += 1
                    continue
                if not queued:  # once per task: only its first valid annotation can add the post
                    queued = True
                    s.new_items += rdb.ensure_item(post_id, text)
                key = ann_id if ann_id is not None else (when or f"#{k}")
                res = rdb.decide(post_id, who, decided, decision_id=f"label-studio:{task.get('id', post_id)}:{key}",
                                 note=f"Label Studio annotation {ann_id}" + (f" ({when})" if when else ""),
                                 source="label-studio")
            except (ValueError, ItemNotFound, DecisionConflict) as e:
                s.skipped += 1
                s.problems.append(f"task {n}: " + (f"post {post_id!r} is not in the queue and the task has no text"
                                                   if isinstance(e, ItemNotFound) else str(e)))
                continue
            s.applied += res["status"] == "applied"
            s.duplicates += res["status"] != "applied"
    return s
