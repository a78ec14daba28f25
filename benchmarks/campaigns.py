"""Campaign detection on real comments with planted copy-paste campaigns.

Background: real comments from ../shared/datasets/unlabeled_posts/chnci_comments.jsonl (they
contain natural duplicates; clusters of background posts only are reported separately).
Planted: ~300 campaigns of 3-40 posts, each from one of 60 hand-written paid-posting /
praise / smear templates (slots filled per campaign, plus a per-campaign tail sentence), every
post edited at a 5-15% rate (char substitutions / insertions / deletions, emoji, punctuation,
Traditional chars, zero-width chars; 30% get an @mention, 30% a #hashtag#), distinct fake
authors, times within one hour.

Cluster level: a predicted cluster is correct if >= 80% of its members come from one planted
campaign; precision = correct / predicted clusters holding planted posts; recall = planted
campaigns with a correct cluster (and with one covering >= 80% of the campaign).
Pairwise precision / recall over same-cluster pairs involving planted posts.
`jingwang campaigns` (campaigns_file) runs in a subprocess: time and peak RSS are its own.

    python benchmarks/campaigns.py --n 200000 --out results/campaigns.json
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "unlabeled_posts" / "chnci_comments.jsonl"
CST = timezone(timedelta(hours=8))

PAID = [
    "{b}的{p}真的太好用了，用了一个星期皮肤明显变好，姐妹们闭眼入不踩雷",
    "强烈推荐{b}{p}，性价比超高，{c}的朋友都在用，现在下单还送赠品",
    "刚收到{b}的{p}，包装精致质量过硬，客服态度也好，必须五星好评",
    "谁用谁知道，{b}{p}效果绝了，回购第三次了，真心不是广告",
    "{c}最火的{p}就是{b}家的，排队两小时也值得，大家冲就完事了",
    "用了{b}{p}之后再也不想换别的了，孩子也说好，全家都离不开",
    "跟风买了{b}的{p}，没想到这么惊艳，后悔没早点入手，安利给大家",
    "{b}{p}今天限时半价，手慢无，我已经囤了五件，链接在主页",
    "作为一个挑剔的人，{b}的{p}是我今年用过最满意的东西",
    "{b}{p}质量杠杠的，比专柜便宜一半，{c}同城还能当天发货",
    "不吹不黑，{b}的{p}是真的好，物流快做工细，买给爸妈也合适",
    "家人们谁懂啊，{b}{p}也太香了吧，已经推荐给整个办公室",
    "{b}{p}用料扎实，细节满分，这个价格真的找不到第二家",
    "入手{b}的{p}一个月了，每天都在用，越用越喜欢，值得拥有",
    "最近被{b}{p}种草了，朋友圈都在晒，果然名不虚传",
    "{b}家的{p}口碑真的好，{c}线下店天天爆满，线上也要抢",
    "第一次写评价，{b}{p}实在太惊喜了，忍不住来夸一夸",
    "闭眼冲{b}{p}，颜值高功能全，送人自用都特别有面子",
    "{b}的{p}救了我的命，熬夜党必备，用完第二天精神满满",
    "说真的{b}{p}是我买过最值的，老公都说这钱花得值",
]
PRAISE = [
    "{c}的{o}真是为民办实事，效率高态度好，点赞点赞",
    "感谢{o}的工作人员，{c}这几年变化太大了，越来越好",
    "{o}这次处理得非常及时，{c}老百姓都看在眼里，必须支持",
    "为{o}点赞，{c}的营商环境明显改善，办事再也不用跑断腿",
    "{p2}老师的课讲得太好了，深入浅出，{c}的家长都抢着报名",
    "支持{o}，{c}有这样的好干部是我们的福气",
    "{p2}真是我们{c}的骄傲，敬业又低调，这样的人多一些就好了",
    "{o}的新政策太暖心了，{c}的老人孩子都得到了实惠",
    "看到{o}连夜抢修，{c}人民真心感谢你们的付出",
    "{p2}的新作品太好看了，演技在线，必须支持到底",
    "{c}{o}办事效率全国第一，我亲身经历，服务一流",
    "为{p2}打call，人美心善还做公益，{c}粉丝永远支持你",
    "{o}这波操作太漂亮了，{c}的问题终于解决了，大快人心",
    "{c}这几年在{o}带领下发展飞快，作为本地人很自豪",
    "{p2}的演唱会太震撼了，{c}场座无虚席，明年还要来",
    "感谢{o}及时辟谣，{c}的网友不要再传谣了，相信官方",
    "{o}的服务窗口态度超级好，{c}办证一次就搞定了",
    "{p2}教授的讲座让人受益匪浅，{c}的学生都说讲得透彻",
    "{c}{o}的志愿者太辛苦了，风里雨里都在，向你们致敬",
    "真心支持{o}的决定，{c}的发展离不开这样的魄力",
]
SMEAR = [
    "{b}的{p}千万别买，用了三天就坏了，客服还不理人，大家避雷",
    "{b}就是黑心商家，{p}以次充好，{c}已经有好多人投诉了",
    "曝光{b}，{p}里面查出有害物质，家里有孩子的赶紧扔掉",
    "{p2}人设崩塌了，私下耍大牌，{c}的工作人员都受不了",
    "{b}{p}全是智商税，花了冤枉钱，退款还被各种刁难",
    "避雷{c}的{b}，{p}和图片完全两样，老板态度极差",
    "{p2}就是靠炒作上位的，作品一塌糊涂，粉丝醒醒吧",
    "{b}的{p}用完过敏了，脸上全是红疹，维权无门，气死了",
    "听说{b}资金链断了，{p}马上要停产，已经买了的赶紧退",
    "{c}的{b}门店卫生太差，{p}吃出了虫子，以后再也不去",
    "{p2}的新剧烂到家了，剧情拖沓演技尴尬，浪费时间",
    "{b}偷偷涨价还缩水，{p}分量少了一半，消费者不是傻子",
    "千万别信{b}的广告，{p}效果全是假的，评论都是刷的",
    "{b}售后就是摆设，{p}坏了一个月都没人管，{c}维权群已建",
    "{p2}学术造假被扒了，{c}的学生都在转发，太丢人了",
    "{b}{p}质量问题频发，{c}已经有人起诉了，大家小心",
    "劝大家远离{b}，{p}坑了我两千块，投诉无门",
    "{b}员工爆料{p}生产线脏乱差，看完再也不敢买了",
    "{p2}偷税漏税还装好人，{c}这边早就传开了",
    "{b}的{p}存在严重安全隐患，{c}已经发生多起事故",
]
TEMPLATES = PAID + PRAISE + SMEAR
BRANDS = ["优品汇", "百草堂", "美丽说", "小鹿家", "云朵", "极光", "知味轩", "花间集", "青柠", "星辰", "禾木", "橙意",
          "木子", "悦己", "本草纲", "鲜多多", "乐享", "初见", "暖阳", "蓝鲸"]
PRODUCTS = ["面霜", "精华液", "电动牙刷", "扫地机器人", "蛋白粉", "空气炸锅", "洗发水", "保温杯", "奶粉", "按摩椅",
            "防晒霜", "螺蛳粉", "羽绒服", "蓝牙耳机", "减肥茶", "枕头"]
CITIES = ["杭州", "成都", "武汉", "西安", "长沙", "郑州", "南京", "重庆", "合肥", "昆明", "济南", "福州"]
ORGS = ["市政府", "区政务中心", "社区居委会", "交警大队", "市场监管局", "供电公司", "教育局", "卫健委"]
PEOPLE = ["王明", "李华", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴敏"]
TAILS = ["大家快去看看吧", "转发让更多人知道", "说的都是真心话", "不信你们自己去试试", "评论区见真章",
         "我已经推荐给身边所有人", "这条一定要顶上去", "懂的都懂", "有同感的扣个一", "信我没错的",
         "亲身经历绝无虚言", "看到的朋友帮忙转一下", "先收藏了再说", "姐妹们冲鸭", "不说了我去下单了",
         "希望官方能看到", "这才是良心", "口碑是做出来的", "谁用谁知道", "真相只有一个",
         "早知道就好了", "有图有真相", "时间会证明一切", "大家自己判断吧", "路过的都来看看"]
EMOJI = ["👍", "😂", "🔥", "❤️", "😊", "👏", "💯", "🙏", "[赞]", "[玫瑰]", "[强]", "✨"]
PUNCT = "，。！？～、…!?,."
ZW = ["\u200b", "\u200c", "\u200d", "\ufeff"]


def _s2t():
    try:
        from opencc import OpenCC
        return OpenCC("s2t").convert
    except ImportError:  # pragma: no cover
        return lambda ch: ch


def base_texts(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct campaign texts: template with slots filled, plus a tail sentence."""
    out, seen = [], set()
    while len(out) < n:
        t, tail = rng.choice(TEMPLATES), rng.choice(TAILS)
        fill = dict(b=rng.choice(BRANDS), p=rng.choice(PRODUCTS), c=rng.choice(CITIES), o=rng.choice(ORGS),
                    p2=rng.choice(PEOPLE))
        if (t, tail) in seen:
            continue
        seen.add((t, tail))
        out.append(t.format(**fill) + "，" + tail)
    return out


def edit(text: str, rate: float, rng: random.Random, s2t, pool: str) -> str:
    """Apply ``rate * len`` random edits of the kinds real copy-paste accounts make."""
    chars = list(text)
    for _ in range(max(1, round(rate * len(text)))):
        i = rng.randrange(len(chars))
        kind = rng.choices(["sub", "ins", "del", "emoji", "punct", "trad", "zw"], [22, 5, 8, 15, 20, 20, 10])[0]
        if kind == "sub":
            chars[i] = rng.choice(pool)
        elif kind == "ins":
            chars.insert(i, rng.choice(pool))
        elif kind == "del" and len(chars) > 10:
            del chars[i]
        elif kind == "emoji":
            chars.insert(i, rng.choice(EMOJI))
        elif kind == "punct":
            if chars[i] in PUNCT:
                chars[i] = rng.choice(PUNCT)
            else:
                chars.insert(i, rng.choice(PUNCT))
        elif kind == "trad":
            chars[i] = s2t(chars[i])
        elif kind == "zw":
            chars.insert(i, rng.choice(ZW))
    out = "".join(chars)
    if rng.random() < 0.3:
        out += " @" + rng.choice(["小红薯", "吃货日记", "生活家", "买买买"]) + str(rng.randint(1, 9999))
    if rng.random() < 0.3:
        out += " #" + rng.choice(["好物推荐", "真实测评", "避雷", "正能量", "热点"]) + "#"
    return out


def _fmt(ts: float) -> str:
    d = datetime.fromtimestamp(ts, CST)
    return f"{d.year}/{d.month}/{d.day} {d.hour}:{d.minute:02d}"


def planted(n_campaigns: int, rng: random.Random, pool: str, t_range: tuple[float, float]) -> list[dict]:
    s2t, rows = _s2t(), []
    for c, base in enumerate(base_texts(n_campaigns, rng)):
        size = 3 + int(37 * rng.random() ** 1.5)
        t0 = rng.uniform(*t_range)
        for j in range(size):
            rows.append({"id": f"plant-{c}-{j}", "text": edit(base, rng.uniform(0.05, 0.15), rng, s2t, pool),
                         "author": f"shill-{c}-{j}", "created_at": _fmt(t0 + rng.uniform(0, 3600)), "_campaign": c})
    return rows


def make_input(path: Path, n: int, n_campaigns: int, seed: int) -> dict[str, int]:
    """Write the benchmark input; return {planted post id: campaign}."""
    from detector.cases.campaigns import parse_time

    rng = random.Random(seed)
    with open(SRC, encoding="utf-8") as f:
        bg = [json.loads(line) for line in f]
    pool = "".join(sorted({ch for r in bg[:5000] for ch in r["text"] if "\u4e00" <= ch <= "\u9fff"}))
    times = [t for t in (parse_time(r.get("created_at")) for r in bg[:20000]) if t]
    plant = planted(n_campaigns, rng, pool, (min(times), max(times)))
    bg = bg[:max(0, n - len(plant))]
    rows = [{"id": r["id"], "text": r["text"], "author": f"bg-{i}", "created_at": r.get("created_at")}
            for i, r in enumerate(bg)]
    for p in plant:
        rows.insert(rng.randrange(len(rows) + 1), p)
    truth = {p["id"]: p.pop("_campaign") for p in plant}
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    return truth


def evaluate(clusters: list[dict], truth: dict[str, int]) -> dict:
    camp_size = Counter(truth.values())
    kinds, hit, covered, natural = [], set(), set(), []
    tp_pairs = pred_pairs = 0
    for cl in clusters:
        counts = Counter(truth.get(m, -1) for m in cl["member_ids"])
        bg = counts.pop(-1, 0)
        if not counts:
            kinds.append("natural")
            natural.append(cl)
            continue
        top, k = counts.most_common(1)[0]
        kinds.append("correct" if k >= 0.8 * cl["size"] else "mixed")
        if kinds[-1] == "correct":
            hit.add(top)
            covered.update([top] if k >= 0.8 * camp_size[top] else [])
        pred_pairs += cl["size"] * (cl["size"] - 1) // 2 - bg * (bg - 1) // 2
        tp_pairs += sum(v * (v - 1) // 2 for v in counts.values())
    true_pairs = sum(v * (v - 1) // 2 for v in camp_size.values())
    n_correct, n_mixed = kinds.count("correct"), kinds.count("mixed")
    planted_scores = [c["score"] for c, k in zip(clusters, kinds) if k != "natural"]
    ranked = sorted(zip(clusters, kinds), key=lambda x: -x[0]["score"])[:len(camp_size)]
    return {
        "clusters": len(clusters), "clusters_with_planted": n_correct + n_mixed, "correct_clusters": n_correct,
        "cluster_precision": round(n_correct / (n_correct + n_mixed), 4) if n_correct + n_mixed else None,
        "cluster_recall_any": round(len(hit) / len(camp_size), 4),
        "cluster_recall_80pct_covered": round(len(covered) / len(camp_size), 4),
        "pairwise_precision": round(tp_pairs / pred_pairs, 4) if pred_pairs else None,
        "pairwise_recall": round(tp_pairs / true_pairs, 4),
        "correct_share_of_top_k_by_score": round(sum(k == "correct" for _, k in ranked) / max(1, len(ranked)), 4),
        "mean_score_planted": round(sum(planted_scores) / max(1, len(planted_scores)), 4),
        "natural_clusters": len(natural), "natural_clustered_posts": sum(c["size"] for c in natural),
        "mean_score_natural": round(sum(c["score"] for c in natural) / max(1, len(natural)), 4),
        "natural_top": [{"size": c["size"], "score": c["score"], "text": c["representative"][:50]}
                        for c in sorted(natural, key=lambda c: -c["size"])[:8]],
    }


def _vm(key: str) -> float:
    """VmRSS / VmHWM (peak) of this process in MB (ru_maxrss survives exec from a big parent)."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith(key + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def child(inp: str, out: str, sweep: list[float], sweep_out: str) -> None:
    """Run in a subprocess: campaigns_file (timed, peak RSS), then a threshold sweep."""
    from detector.cases import campaigns as cp
    from detector.batch.io import iter_posts

    rss0 = _vm("VmRSS")
    t0 = time.perf_counter()
    s = cp.campaigns_file(inp, out)
    secs = time.perf_counter() - t0
    rss = _vm("VmHWM")
    res = {"seconds": round(secs, 2), "peak_rss_mb": round(rss, 1), "rss_before_mb": round(rss0, 1),
           "read": s.read, "hashed": s.hashed, "short": s.short, "bad": s.bad, "sweep": {}}
    recs = (r.record for r in iter_posts(inp))
    st = cp._collect(recs, cp.MinHasher(), ("text", "id", "author", "created_at"))
    for th in sweep:
        t = time.perf_counter()
        found = cp._cluster(st, 64, th, 3)
        res["sweep"][str(th)] = {"cluster_seconds": round(time.perf_counter() - t, 2),
                                 "clusters": [c.to_dict() for c in found]}
    st.spool.close()
    Path(sweep_out).write_text(json.dumps(res, ensure_ascii=False), encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--campaigns", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--sweep", type=float, nargs="*", default=[0.5, 0.6, 0.8])
    ap.add_argument("--out", default="results/campaigns.json")
    ap.add_argument("--child", nargs=3, metavar=("INPUT", "OUT", "SWEEP_OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child[0], args.child[1], args.sweep, args.child[2])
    with tempfile.TemporaryDirectory() as tmp:
        inp, out, sw = Path(tmp) / "in.jsonl", Path(tmp) / "clusters.jsonl", Path(tmp) / "sweep.json"
        truth = make_input(inp, args.n, args.campaigns, args.seed)
        subprocess.run([sys.executable, __file__, "--child", str(inp), str(out), str(sw),
                        "--sweep", *map(str, args.sweep)], check=True)
        run = json.loads(sw.read_text(encoding="utf-8"))
        clusters = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    result = {
        "posts": run["read"], "planted_posts": len(truth), "planted_campaigns": len(set(truth.values())),
        "threshold": 0.7, "min_size": 3, "num_perm": 64, "shingle": 3,
        "seconds": run["seconds"], "posts_per_s": round(run["read"] / run["seconds"], 1),
        "peak_rss_mb": run["peak_rss_mb"], "rss_before_mb": run["rss_before_mb"],
        "hashed_posts": run["hashed"], "short_posts_skipped": run["short"],
        **evaluate(clusters, truth),
        "threshold_sweep": {th: {"cluster_seconds": v["cluster_seconds"],
                                 **{k: x for k, x in evaluate(v["clusters"], truth).items() if k != "natural_top"}}
                            for th, v in run["sweep"].items()},
        "source": str(SRC.name), "seed": args.seed,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k not in ("natural_top", "threshold_sweep")},
                     ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
