#!/usr/bin/env bash
# One prepared GPU session (device tool): fine-tune the multi-task transformer with the full
# recipe (configs/transformer.toml) on the trimmed e5-small, build the ensemble with the fast
# model, then (time permitting) the same run with CLS pooling. Everything needed travels in
# .gpu/ (4-bit packed base model, datasets, a trimmed jieba) and .whl/ (missing wheels) and
# models/default; results land in $OUT.
set -euo pipefail
export PYTHONUNBUFFERED=1
T0=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
tar xzf .gpu/jieba.tgz -C /tmp/site
export PYTHONPATH=/tmp/site:$PWD
mkdir -p /tmp/ds && tar xzf .gpu/datasets.tgz -C /tmp/ds
export JINGWANG_DATA=/tmp/ds
python3 -m training.base.pack_q4 unpack .gpu/me5.q4.npz models/base/me5-small-trim
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $OUT/gpu.txt
BASE='model.base="models/base/me5-small-trim"'
python3 -m detector.cli train --config configs/transformer.toml --out /tmp/mt --set "$BASE" 2>&1 | tee $OUT/train_mean.log
cp /tmp/mt/metrics.json $OUT/transformer_mean_metrics.json
python3 - <<'PY' > $OUT/transformer_speed.json
import json, time, os
from detector.model.core import Detector
from training.data.sources import read_jsonl
rows = read_jsonl(os.environ["JINGWANG_DATA"] + "/cold/test.jsonl")
texts = [r["text"] for r in rows]
det = Detector.from_pretrained("/tmp/mt")
det.predict_proba(texts[:512])
t = time.perf_counter(); det.predict_proba(texts); s = time.perf_counter() - t
print(json.dumps({"posts": len(texts), "seconds": round(s, 2), "posts_per_s": round(len(texts) / s, 1), "note": "predict_proba incl. cleaning, no evidence"}))
PY
python3 -m detector.cli train --config configs/ensemble.toml --out /tmp/ens \
  --set 'ensemble.members=["models/default","/tmp/mt"]' \
  --set 'data.sources=["cold","weibo21","sms_spam","paid_team"]' 2>&1 | tee $OUT/ensemble.log
cp /tmp/ens/metrics.json $OUT/ensemble_metrics.json
LEFT=$(( 470 - ($(date +%s) - T0) ))
echo "seconds left for the CLS run: $LEFT"
if [ "$LEFT" -gt 200 ]; then
  timeout "$LEFT" python3 -m detector.cli train --config configs/transformer.toml --out /tmp/mc --set "$BASE" \
    --set 'model.pooling="cls"' 2>&1 | tee $OUT/train_cls.log && cp /tmp/mc/metrics.json $OUT/transformer_cls_metrics.json || true
fi
echo "total seconds: $(( $(date +%s) - T0 ))"
