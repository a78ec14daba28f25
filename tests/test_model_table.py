"""benchmarks/model_table.py: a cascade measured through `jingwang score --cascade` gives what
`evaluate` gives for the model that scored its posts; bad --model specs are one sentence."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from tests.conftest import PROJECT, TEST
from training.evaluation.evaluate import evaluate_set

spec = importlib.util.spec_from_file_location("model_table", PROJECT / "benchmarks" / "model_table.py")
model_table = importlib.util.module_from_spec(spec)
spec.loader.exec_module(model_table)


def test_cascade_routing_every_post_is_measured_as_its_second_model(tiny_model, second_model, tiny_root, tmp_path):
    from detector.model.core import Detector

    casc = tmp_path / "casc"
    casc.mkdir()
    (casc / "cascade.json").write_text(json.dumps({"second": str(second_model), "band": {
        r: [0.0, 1.0] for r in ("rumor", "paid_posting", "harassment")}}), encoding="utf-8")
    # unseen posts of every kind (not dev texts: a threshold sits on a dev score rounded to 4 decimals,
    # where `score`'s rounded scores and evaluate's full ones can fall on either side of it)
    texts = [t for rows in TEST.values() for t in rows]
    y = np.array([int(t in TEST["harass"]) for t in texts])
    recs = model_table.score_cascade(str(tiny_model), str(casc), texts, tmp_path / "scored")
    first, second = Detector.from_pretrained(tiny_model), Detector.from_pretrained(second_model)
    got = model_table.flag_metrics(recs, y, "harassment", 50, first.model_id)
    want, alone = (evaluate_set(d, "mix", texts, y, "harassment", n_boot=50, k_examples=0).metrics
                   for d in (second, first))
    assert got["routed"] == 1.0 and alone["macro_f1"] > want["macro_f1"] + 0.2  # the two models differ here
    for k in ("macro_f1", "precision", "recall", "f1", "flags", "false_flags_per_1000", "best_f1"):
        assert got[k] == pytest.approx(want[k], abs=1e-3), k  # scores are rounded to 4 decimals in records


@pytest.mark.parametrize("spec,needle", [("fast", "expected NAME=FOLDER"), ("a=nowhere", "no such folder")])
def test_a_bad_model_spec_is_one_sentence(spec, needle):
    with pytest.raises(SystemExit, match=needle):
        model_table.parse_models([spec])
