"""Labeled data: the datasets named in configs/datasets.toml (sources), one split loader
(splits), evaluation sets (eval_sets), transformer batches (transformer_batches), the annotation
sample (real_sample) and `jingwang data pull` (pull)."""
