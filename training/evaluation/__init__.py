"""Offline evaluation: metrics and threshold rules (metrics), `jingwang evaluate`
(evaluate) with its HTML report (report), paired significance tests (significance) and
`jingwang benchmark` (benchmark)."""
