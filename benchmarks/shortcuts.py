"""Does a model follow surface shortcuts instead of content? Each probe adds something that
carries no risk (an @-mention, "!!!", digits, an emoji code, a news-style header, the text
twice) to real comments the team labeled harmless for every risk, and measures how far the
scores and flags move; then the content-free posts of issue 12 are scored as they are.

    python benchmarks/shortcuts.py --model models/default --out results/shortcuts.json
    python benchmarks/shortcuts.py --model runs/old --model models/default   # side by side

Data: the `real` dev rows (configs/datasets.toml) labeled 0 for all three risks. Per probe and
risk: mean score change and the flag rate before and after (a model without the shortcut moves
neither).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROBES = {
    "mention": lambda t: "@偏未晚 " + t,
    "exclaim": lambda t: t + "！！！",
    "digits": lambda t: t + " 6996",
    "emoji_code": lambda t: t + "[捂脸][捂脸]",
    "news_header": lambda t: "【快讯】" + t,
    "twice": lambda t: t + " " + t,
    "url": lambda t: t + " http://t.cn/A6x1",
}
CONTENT_FREE = ["@偏未晚", "6996", "，", "90/7=12.857", "@偏未晚 @李四 @王五", "[捂脸][捂脸][捂脸]", "？？？",
                "http://t.cn/A6x1", "2024"]
MUST_NOT_FLAG = CONTENT_FREE + ["武汉欢迎您"]


def harmless_real(split: str = "dev") -> list[str]:
    from training.data.sources import load_source

    ds = load_source("real", split)
    return [t for t, a, b, c in zip(ds["text"], ds["rumor"], ds["paid_posting"], ds["harassment"]) if not (a or b or c)]


def run(model: str, texts: list[str]) -> dict:
    from detector.model.core import Detector

    det = Detector.from_pretrained(model)
    thr = np.array([det.thresholds[r] for r in det.labels])
    base = det.predict_proba(texts)
    out = {"model": det.model_id, "n": len(texts), "probes": {}}
    for name, fn in PROBES.items():
        p = det.predict_proba([fn(t) for t in texts])
        out["probes"][name] = {r: {"mean_change": round(float((p[:, j] - base[:, j]).mean()), 4),
                                   "flag_rate_before": round(float((base[:, j] >= thr[j]).mean()), 4),
                                   "flag_rate_after": round(float((p[:, j] >= thr[j]).mean()), 4)}
                               for j, r in enumerate(det.labels)}
    p = det.predict_proba(MUST_NOT_FLAG)
    out["must_not_flag"] = {t: {"scores": {r: round(float(v), 4) for r, v in zip(det.labels, row)},
                                "flags": [r for r, v, k in zip(det.labels, row, thr) if v >= k]}
                            for t, row in zip(MUST_NOT_FLAG, p)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--split", default="dev", help="split of the team's real comments")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    texts = harmless_real(a.split)
    res = [run(m, texts) for m in a.model]
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(res, indent=2, ensure_ascii=False), encoding="utf-8")
    for r in res:
        print(f"{r['model']} on {r['n']} harmless real comments: flag rate before -> after each probe")
        for name, risks in r["probes"].items():
            cells = "  ".join(f"{k} {v['flag_rate_before']:.3f}->{v['flag_rate_after']:.3f} ({v['mean_change']:+.3f})"
                              for k, v in risks.items())
            print(f"  {name:12s} {cells}")
        flagged = {t: v["flags"] for t, v in r["must_not_flag"].items() if v["flags"]}
        print(f"  must-not-flag posts flagged: {len(flagged)} of {len(MUST_NOT_FLAG)} {flagged or ''}")


if __name__ == "__main__":
    main()
