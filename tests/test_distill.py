"""Distillation into the fast model: a teacher's soft labels pull the fast model's scores toward
the teacher, held-out rows (dev/test splits, the team's real eval) never train, a bad teacher line
names its file and line, and without [distill] nothing changes."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from detector.model.core import Detector
from tests.conftest import DEV, TEST, tiny_recipe
from training.data.sources import PROJECT, read_labels_tsv, sha256_file
from training.recipe import load_recipe, parse_recipe
from training.trainers.distill import load_distilled, soft_rows
from training.trainers.fast import train_fast

# unlabeled comments the tiny training data says nothing about; the teacher calls them harassment
TAUNTS = ["阴阳怪气的家伙看着就烦", "你这种人也配说话", "少在这里装模作样了", "一看就是没脑子的东西",
          "跟你说话都嫌浪费时间", "别出来丢人现眼了"]
quiet = lambda m: None  # noqa: E731


def teacher_line(row_id: str, text: str, harassment: float, rumor: float = 0.02, paid: float = 0.02) -> str:
    scores = {"rumor": rumor, "paid_posting": paid, "harassment": harassment}
    return json.dumps({"id": row_id, "text": text, "scores": scores, "flags": []}, ensure_ascii=False) + "\n"


def write_teacher(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines), encoding="utf-8")
    return path


def distill_recipe(scores: Path, **settings) -> dict:
    recipe = tiny_recipe()
    recipe["distill"] = {"scores": str(scores), "exclude_sources": [], **settings}
    return recipe


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    lines = [teacher_line(f"u-{i}", t, 0.95) for i, t in enumerate(TAUNTS)]
    lines += [teacher_line("cold-dev-0", "一条新的评论，编号相同", 0.95),          # a cold dev id
              teacher_line("u-test", TEST["harass"][0], 0.95),                    # a cold test text
              teacher_line("u-empty", "   ", 0.5)]
    return write_teacher(tmp_path_factory.mktemp("teacher") / "chnci.scored.jsonl", lines)


@pytest.fixture(scope="module")
def distilled_model(tiny_root, teacher, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("distilled") / "m"
    train_fast(distill_recipe(teacher, weight={"harassment": 1.0, "rumor": 0.0, "paid_posting": 0.0}), out,
               root=tiny_root, log=quiet)
    return out


def test_the_teachers_soft_labels_pull_the_fast_models_scores_up(tiny_model, distilled_model):
    h = Detector.from_pretrained(tiny_model).labels.index("harassment")
    plain = Detector.from_pretrained(tiny_model).predict_proba(TAUNTS)[:, h]
    taught = Detector.from_pretrained(distilled_model).predict_proba(TAUNTS)[:, h]
    assert taught.mean() > plain.mean() + 0.05, (plain, taught)
    assert (taught > plain).sum() >= len(TAUNTS) - 1


def test_config_records_the_teacher_file_its_settings_and_what_was_left_out(distilled_model, teacher):
    cfg = json.loads((distilled_model / "config.json").read_text(encoding="utf-8"))
    d = cfg["distill"]
    assert d["scores_sha256"] == sha256_file(teacher) and d["scores"] == str(teacher)
    assert d["settings"]["weight"] == {"harassment": 1.0, "rumor": 0.0, "paid_posting": 0.0}
    assert d["excluded"] == {"by_id": 1, "by_text": 1} and d["empty"] == 1
    assert d["lines"] == len(TAUNTS) + 3 and d["rows"] == len(TAUNTS)
    assert cfg["recipe"]["distill"]["scores"] == str(teacher)


def test_dev_and_test_rows_never_train(tiny_root, tmp_path):
    lines = [teacher_line(f"cold-dev-{i}", f"新评论{i}", 0.9) for i in range(3)]            # dev ids
    lines += [teacher_line(f"x-{i}", t, 0.9) for i, t in enumerate(DEV["rumor"][:2] + TEST["spam"][:2])]
    lines += [teacher_line("keep", TAUNTS[0], 0.9)]
    rec = parse_recipe(distill_recipe(write_teacher(tmp_path / "t.jsonl", lines)))
    d = load_distilled(rec, rec.model.labels, tiny_root, quiet)
    assert d.texts == [TAUNTS[0]] and d.report["excluded"] == {"by_id": 3, "by_text": 4}


def test_the_teams_annotated_real_comments_never_train(tiny_root, tmp_path):
    """exclude_sources = ["real"] (the default): every annotated id (eval included) is left out."""
    root = tmp_path / "root"
    shutil.copytree(tiny_root, root)
    labeled = read_labels_tsv(PROJECT / "data" / "real" / "labels.tsv.gz")
    posts = root / "unlabeled_posts" / "chnci_comments.jsonl"
    posts.parent.mkdir(parents=True)
    posts.write_text("".join(json.dumps({"id": r["id"], "text": f"帖子{i}", "platform": "wb"}, ensure_ascii=False)
                             + "\n" for i, r in enumerate(labeled)), encoding="utf-8")
    evals = [r["id"] for r in labeled if r["split"] == "eval"][:3]
    lines = [teacher_line(i, f"另一条评论{k}", 0.9) for k, i in enumerate(evals)]
    lines += [teacher_line("new", TAUNTS[1], 0.9), teacher_line("copy", "帖子7", 0.9)]
    recipe = distill_recipe(write_teacher(tmp_path / "t.jsonl", lines))
    del recipe["distill"]["exclude_sources"]
    rec = parse_recipe(recipe)
    assert rec.distill.exclude_sources == ["real"]
    d = load_distilled(rec, rec.model.labels, root, quiet)
    assert d.texts == [TAUNTS[1]] and d.report["excluded"] == {"by_id": 3, "by_text": 1}


def test_exclude_files_limit_and_risks(tiny_root, tmp_path):
    lines = [teacher_line(f"u-{i}", t, 0.9) for i, t in enumerate(TAUNTS)]
    (tmp_path / "ids.jsonl").write_text(json.dumps({"id": "u-0"}) + "\n" + json.dumps({"id": "z", "text": TAUNTS[1]})
                                        + "\n", encoding="utf-8")
    recipe = distill_recipe(write_teacher(tmp_path / "t.jsonl", lines), exclude_files=[str(tmp_path / "ids.jsonl")],
                            limit=2, risks=["harassment"])
    rec = parse_recipe(recipe)
    a, b = (load_distilled(rec, rec.model.labels, tiny_root, quiet) for _ in range(2))
    assert a.texts == b.texts and len(a.texts) == 2 and set(a.texts) <= set(TAUNTS[2:])
    assert a.report["excluded"] == {"by_id": 1, "by_text": 1} and a.report["eligible"] == 4
    h = rec.model.labels.index("harassment")
    assert np.isnan(np.delete(a.p, h, axis=1)).all() and (a.p[:, h] == 0.9).all()


@pytest.mark.parametrize("line,needle", [("{not json\n", "not valid JSON"),
                                         ('{"id": "a", "text": "x"}\n', "no `scores` table"),
                                         ('{"id": "a", "scores": {}}\n', "no `text`"),
                                         ('{"id": "a", "text": "x", "scores": {"harassment": 1.5}}\n',
                                          "scores.harassment must be a probability"),
                                         ('{"id": "a", "text": "x", "scores": {"rumor": 0.1}}\n',
                                          "scores.harassment must be a probability in [0, 1], not None")])
def test_a_bad_line_in_the_scores_file_names_the_file_and_line(tiny_root, tmp_path, line, needle):
    path = write_teacher(tmp_path / "t.jsonl", [teacher_line("ok", TAUNTS[0], 0.5), "\n", line])
    rec = parse_recipe(distill_recipe(path, risks=["harassment"]))
    with pytest.raises(ValueError) as e:
        load_distilled(rec, rec.model.labels, tiny_root, quiet)
    assert str(e.value).startswith(f"{path}:3: ") and needle in str(e.value)


def test_distill_settings_are_typed_and_checked(tmp_path):
    with pytest.raises(ValueError, match=r"unknown key 'distill\.wieght'; did you mean 'distill\.weight'"):
        parse_recipe(distill_recipe(tmp_path / "t.jsonl", wieght=1.0))
    with pytest.raises(ValueError, match=r"unknown risk 'distill\.risks\.harrassment'"):
        parse_recipe(distill_recipe(tmp_path / "t.jsonl", risks=["harrassment"]))
    with pytest.raises(ValueError, match=r"unknown risk 'distill\.weight\.rumour'"):
        parse_recipe(distill_recipe(tmp_path / "t.jsonl", weight={"rumour": 1.0}))
    with pytest.raises(ValueError, match=r"distill\.weight must be 0 or more"):
        parse_recipe(distill_recipe(tmp_path / "t.jsonl", weight=-1.0))
    with pytest.raises(ValueError, match=r"distill\.scores is required"):
        parse_recipe({**tiny_recipe(), "distill": {}})
    rec = load_recipe(PROJECT / "configs" / "fast.toml", ["distill.scores=runs/teacher/chnci.scored.jsonl"])
    assert rec.distill.weight == 0.5 and rec.distill.exclude_sources == ["real"] and rec.distill.risks is None
    with pytest.raises(FileNotFoundError, match="distill.scores: cannot read"):
        load_distilled(rec, rec.model.labels)


def test_soft_rows_enter_twice_with_weights_p_and_one_minus_p():
    X = sp.csr_matrix(np.eye(4))
    p = np.array([0.9, 0.2, 1.0, 0.5])
    Xs, t, w = soft_rows(X, p, 0.5, annotated_total=80.0)   # w = 0.5 * 80 / 4 = 10 per row
    assert w.sum() == pytest.approx(40.0) and Xs.shape == (7, 4)   # p = 1.0: no negative row
    assert list(t) == [1, 1, 1, 1, 0, 0, 0] and np.allclose(w, [9, 2, 10, 5, 1, 8, 5])


def test_without_distill_or_with_zero_weight_the_weights_are_byte_identical(tiny_root, tiny_model, teacher, tmp_path):
    train_fast(tiny_recipe(), tmp_path / "plain", root=tiny_root, log=quiet)
    train_fast(distill_recipe(teacher, weight=0.0), tmp_path / "zero", root=tiny_root, log=quiet)
    train_fast(distill_recipe(teacher), tmp_path / "taught", root=tiny_root, log=quiet)
    weights = {k: (tmp_path / k / "fast.safetensors").read_bytes() for k in ("plain", "zero", "taught")}
    assert weights["plain"] == (tiny_model / "fast.safetensors").read_bytes() == weights["zero"]
    assert weights["taught"] != weights["plain"]
    assert "distill" not in json.loads((tmp_path / "plain" / "config.json").read_text(encoding="utf-8"))
