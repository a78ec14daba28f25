"""`jingwang operations` on real comments with planted operations.

Background: a random sample (fixed seed, drawn over the whole file) of real comments from
../shared/datasets/unlabeled_posts/chnci_comments.jsonl, with authors drawn from a pool (so
background accounts post several comments each, as real ones do).
Ads: ordinary ads (repair, tutoring, flats, shops …), each advertiser with its own contact in a
plain spelling; a fifth of advertisers post two or three ads with their one contact.
Planted operations (paid deletion, fake reviews, recruitment of posters, lure ads): 2-8 accounts,
1-5 posts each, texts composed per post from fragment pools (no two posts need share a sentence),
ONE shared contact (WeChat id, QQ or mobile) written in a different spelling in each post
(薇信 abc123, V: abc 123, ➕q 12345, 扣扣①②③④⑤, 138 1234 5678 …); a fifth of the posts carry no
contact (linked through their account only); a third of the operations also have a copy-paste
burst by extra accounts (light edits, half of them without the contact: linked through the
campaign cluster only).

Flags: planted posts and ads are flagged paid_posting; background posts are flagged with
probability --flag-rate (default 1: every post is linked, the hardest case for time and purity).
`campaign` fields come from `detector.cases.campaigns.campaign_index` (what `score --campaigns` adds),
timed apart. `operations_file` runs in a subprocess: its time and peak RSS are its own.

Assignment of planted posts (B-cubed): precision = share of the post's operation that is its own
planted operation; recall = share of its planted operation inside the post's operation; a post
left out of every operation has precision 1 and recall 1/size. A planted operation is recovered
when the operation holding most of its posts has purity >= 0.9 (and, the strict count, holds
>= 90% of its posts).

    python benchmarks/operations.py --n 200000 --out results/operations.json
"""
from __future__ import annotations

import argparse
import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "unlabeled_posts" / "chnci_comments.jsonl"

OPEN = ["专业团队", "十年老店", "正规公司", "业内良心", "诚信经营", "熟人推荐", "老客户都知道", "同行勿扰",
        "官方合作渠道", "本人亲测", "有需要的朋友看过来", "急招", "限时优惠", "内部渠道"]
OFFER = ["有偿删帖，负面新闻24小时处理", "百度贴吧微博知乎负面信息删除", "代发好评，五星晒图一条龙",
         "刷单兼职日结，手机操作", "点赞转发评论量按需提供", "招聘网络评论员，在家就能做", "店铺差评修改，效果包满意",
         "舆情处理，帖子下沉不留痕", "小红书种草笔记代写代发", "抖音播放量涨粉服务", "大众点评好评返现",
         "网评员招募，每条5元", "曝光帖撤稿，先做事后付款", "电商刷销量，安全不降权"]
CLOSE = ["价格美丽", "先做后付", "保密可靠", "长期合作有优惠", "名额有限", "速度快效果好", "不成功不收费",
         "随时在线", "量大从优", "新人有红包", "当天见效", "可开发票"]
ADS = ["专业开锁换锁，{a}地区上门服务", "家电维修空调清洗，{a}师傅{p}元起", "小学初中数学家教，{a}可上门",
       "{a}两室一厅出租，月租{p}", "二手电动车出售，九成新{p}元", "{a}搬家公司，价格透明", "宠物寄养，{a}家庭式",
       "瑜伽私教课，体验课{p}元", "蛋糕定制，{a}同城配送", "驾校报名，{a}考场，学费{p}", "钢琴陪练，一对一{p}元/节",
       "装修设计免费量房，{a}本地团队"]
AREAS = ["朝阳", "海淀", "浦东", "天河", "南山", "武侯", "江汉", "雁塔", "鼓楼", "西湖", "历下", "岳麓"]
EMOJI = ["[赞]", "[微笑]", "[666]", "！", "~", "。", "，", "！！"]


def _id(rng: random.Random, kind: str) -> str:
    if kind == "wechat":
        return "".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 6))) + str(rng.randint(10, 99999))
    if kind == "qq":
        return str(rng.randint(10_000_000, 3_999_999_999))
    return "1" + rng.choice("3456789") + "".join(rng.choices(string.digits, k=9))


def _spaced(v: str, rng: random.Random) -> str:
    out, i = [], 0
    while i < len(v):
        k = rng.randint(2, 4)
        out.append(v[i:i + k])
        i += k
    return " ".join(out)


def spell(kind: str, v: str, rng: random.Random) -> str:
    """One of many spellings of a contact, as water armies write them."""
    cn = "零一二三四五六七八九"
    circ = "⓪①②③④⑤⑥⑦⑧⑨"
    if kind == "wechat":
        forms = [f"薇信 {v}", f"V: {_spaced(v, rng)}", f"加V：{v.upper()}", f"vx {v}", f"wx：{v}", f"加微 {v}",
                 f"➕v {_spaced(v, rng)}", f"威信号{v}", f"微信：{v}"]
    elif kind == "qq":
        forms = [f"扣扣 {v}", f"QQ：{v}", f"➕q {v}", f"企鹅号{v}", f"q: {_spaced(v, rng)}", f"加Q{v}",
                 "扣扣" + "".join(circ[int(c)] for c in v), "QQ " + "".join(cn[int(c)] for c in v)]
    else:
        forms = [f"电话 {v[:3]} {v[3:7]} {v[7:]}", f"手机{v[:3]}-{v[3:7]}-{v[7:]}", f"微信同号{v}", f"打+86 {v}",
                 f"vx {v}", f"联系{v}"]
    return rng.choice(forms)


def light_edit(text: str, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 3)):
        chars.insert(rng.randrange(len(chars) + 1), rng.choice(EMOJI))
    return "".join(chars)


def plant_operation(k: int, rng: random.Random, t0: float) -> list[dict]:
    """One operation: accounts, posts, one contact in varied spellings, maybe a copy-paste burst."""
    kind = rng.choice(["wechat", "wechat", "qq", "phone"])
    contact, rows = _id(rng, kind), []
    for a in range(rng.randint(2, 8)):
        for j in range(rng.randint(1, 5)):
            text = f"{rng.choice(OPEN)}，{rng.choice(OFFER)}，{rng.choice(CLOSE)}"
            if j == 0 or rng.random() >= 0.2:  # an account's first post always names the contact
                text += "，" + spell(kind, contact, rng)
            rows.append({"author": f"op{k}-acct{a}", "text": text, "ts": t0 + rng.uniform(0, 7 * 86400)})
    if rng.random() < 1 / 3:
        base = f"{rng.choice(OPEN)}，{rng.choice(OFFER)}，{rng.choice(CLOSE)}，{rng.choice(OFFER)}"
        for j in range(rng.randint(3, 8)):
            tail = "，" + spell(kind, contact, rng) if rng.random() < 0.5 else ""
            rows.append({"author": f"op{k}-copy{j}", "text": light_edit(base, rng) + tail,
                         "ts": t0 + rng.uniform(0, 3600)})
    for j, r in enumerate(rows):
        r.update(id=f"plant-{k}-{j}", _op=k)
    return rows


def ads(n: int, rng: random.Random, t_range: tuple[float, float]) -> list[dict]:
    rows, adv = [], 0
    while len(rows) < n:
        kind = rng.choice(["wechat", "qq", "phone"])
        contact = _id(rng, kind)
        plain = {"wechat": f"微信 {contact}", "qq": f"QQ {contact}", "phone": f"电话{contact}"}[kind]
        for _ in range(1 if rng.random() < 0.8 else rng.randint(2, 3)):
            text = rng.choice(ADS).format(a=rng.choice(AREAS), p=rng.randint(2, 300) * 10) + "，" + plain
            rows.append({"id": f"ad-{len(rows)}", "author": f"adv-{adv}", "text": text, "ts": rng.uniform(*t_range)})
        adv += 1
    return rows[:n]


def make_input(path: Path, n: int, n_ops: int, n_ads: int, flag_rate: float, seed: int) -> tuple[dict, dict]:
    """Write a scored-like input; return ({planted post id: operation}, counts)."""
    from detector.cases.campaigns import campaign_index, parse_time

    rng = random.Random(seed)
    with open(SRC, encoding="utf-8") as f:
        src = [json.loads(line) for line in f]
    times = [t for t in (parse_time(r.get("created_at")) for r in src) if t]
    t_range = (min(times), max(times))
    plant = [r for k in range(n_ops) for r in plant_operation(k, rng, rng.uniform(*t_range))]
    ad_rows = ads(n_ads, rng, t_range)
    n_bg = max(0, n - len(plant) - len(ad_rows))
    picks = rng.sample(range(len(src)), n_bg) if n_bg <= len(src) else [rng.randrange(len(src)) for _ in range(n_bg)]
    bg = [{"id": f"bg-{i}", "text": src[j]["text"], "author": f"user-{rng.randrange(max(1, n_bg // 3))}",
           "created_at": src[j].get("created_at"), "flags": ["harassment"] if rng.random() < flag_rate else []}
          for i, j in enumerate(picks)]
    for r in plant + ad_rows:
        r.update(created_at=time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(r.pop("ts") + 8 * 3600)),
                 flags=["paid_posting"])
    rows = bg + plant + ad_rows
    rng.shuffle(rows)
    t0 = time.perf_counter()
    camp = campaign_index((r["id"], r["text"], r["author"], r["created_at"]) for r in rows)
    camp_s = time.perf_counter() - t0
    truth = {r["id"]: r.pop("_op") for r in plant}
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            if r["id"] in camp:
                r["campaign"] = camp[r["id"]]
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    return truth, {"posts": len(rows), "background": len(bg), "ads": len(ad_rows), "planted_posts": len(plant),
                   "planted_operations": n_ops, "campaign_pass_seconds": round(camp_s, 2),
                   "clustered_posts": len(camp)}


def evaluate(ops: list[dict], truth: dict[str, int]) -> dict:
    size = Counter(truth.values())
    where = {pid: i for i, o in enumerate(ops) for pid in o["post_ids"]}
    comp = [Counter(truth.get(p, -1) for p in o["post_ids"]) for o in ops]
    prec = rec = 0.0
    for pid, k in truth.items():
        i = where.get(pid)
        mine = comp[i][k] if i is not None else 1
        prec += mine / (len(ops[i]["post_ids"]) if i is not None else 1)
        rec += mine / size[k]
    best = defaultdict(lambda: (0, None))
    for i, c in enumerate(comp):
        for k, v in c.items():
            if k >= 0 and v > best[k][0]:
                best[k] = (v, i)
    pure = [k for k, (v, i) in best.items() if i is not None and v / len(ops[i]["post_ids"]) >= 0.9]
    strict = [k for k in pure if best[k][0] >= 0.9 * size[k]]
    in_planted = {p for o, c in zip(ops, comp) if len(c) > 1 or -1 not in c for p in o["post_ids"]}
    return {"assignment_precision": round(prec / len(truth), 4), "assignment_recall": round(rec / len(truth), 4),
            "recovered_purity_0.9": round(len(pure) / len(size), 4),
            "recovered_purity_0.9_covering_0.9": round(len(strict) / len(size), 4),
            "ads_in_planted_operations": sum(p.startswith("ad-") for p in in_planted),
            "background_in_planted_operations": sum(p.startswith("bg-") for p in in_planted),
            "operations": len(ops), "planted_in_top_k_by_score": round(
                sum(any(k >= 0 for k in c) for c in comp[:len(size)]) / len(size), 4)}


def _vm(key: str) -> float:
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def child(inp: str, out: str, stats: str) -> None:
    """Run in a subprocess: operations_file, timed, with peak RSS."""
    from detector.cases.operations import operations_file

    t0, c0 = time.perf_counter(), time.process_time()
    s = operations_file(inp, out)
    res = {"seconds": round(time.perf_counter() - t0, 2), "cpu_seconds": round(time.process_time() - c0, 2),
           "load_average_1min": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(), "peak_rss_mb": _vm("VmHWM"),
           "read": s.read,
           "flagged": s.flagged, "bad": s.bad, "linked_posts": s.linked_posts}
    Path(stats).write_text(json.dumps(res), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--operations", type=int, default=150)
    ap.add_argument("--ads", type=int, default=3000)
    ap.add_argument("--flag-rate", type=float, default=1.0, help="share of background posts flagged")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", default="results/operations.json")
    ap.add_argument("--child", nargs=3, metavar=("INPUT", "OUT", "STATS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory() as tmp:
        inp, out, st = Path(tmp) / "scored.jsonl", Path(tmp) / "ops.jsonl", Path(tmp) / "stats.json"
        truth, counts = make_input(inp, args.n, args.operations, args.ads, args.flag_rate, args.seed)
        subprocess.run([sys.executable, __file__, "--child", str(inp), str(out), str(st)], check=True)
        run = json.loads(st.read_text(encoding="utf-8"))
        ops = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    result = {**counts, "flag_rate_background": args.flag_rate, "seed": args.seed, **run,
              "posts_per_s": round(run["read"] / run["seconds"], 1), **evaluate(ops, truth),
              "command": "python benchmarks/operations.py " + " ".join(sys.argv[1:])}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
