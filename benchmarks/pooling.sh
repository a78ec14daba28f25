#!/usr/bin/env bash
# mean vs CLS pooling, same short CPU budget (6 layers, 64 tokens, 3000 rows/source, 200 steps)
set -e
for pool in mean cls; do
  .venv/bin/jingwang train --config configs/transformer-cpu.toml --out runs/pool-$pool \
    --set "model.pooling=\"$pool\"" --set model.num_layers=6 --set train.subset=3000 --set train.max_steps=200 \
    --set train.dev_subset=1000 --set train.test_subset=1000 > runs/pool-$pool.log 2>&1
done
