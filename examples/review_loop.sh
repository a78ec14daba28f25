#!/usr/bin/env bash
# The whole human-review loop on the 60 demo posts:
#   score -> import into the review queue -> 20 decisions through the review API (an analyst's
#   labels, below) -> export -> retrain on the base data + reviewed samples -> promote or refuse.
#
#   bash examples/review_loop.sh            # uses models/default (trains it first if missing)
#
# Everything it writes goes under $WORK (default out/review_loop); the model registry it builds
# is $WORK/models/demo (v0001 = a copy of $MODEL, v0002 = the challenger).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-.venv/bin}
JW=${JINGWANG:-$BIN/jingwang}
MODEL=${MODEL:-models/default}
BASE_CONFIG=${BASE_CONFIG:-configs/fast.toml}
WORK=${WORK:-out/review_loop}
PORT=${PORT:-8766}
N=${N:-20}

rm -rf "$WORK"
mkdir -p "$WORK"
[ -f "$MODEL/config.json" ] || [ -e "$MODEL/current" ] || $JW train --config "$BASE_CONFIG" --out "$MODEL"

echo "== 1. score the demo posts"
$JW score data/samples/posts.jsonl --model "$MODEL" --out "$WORK/scored.jsonl" --flagged "$WORK/flagged.jsonl" -q
echo "== 2. queue them for review"
$JW review import "$WORK/scored.jsonl" --db "$WORK/review.sqlite"

echo "== 3. serve the review API and decide $N items through it"
TOKEN=$($BIN/python -c 'import secrets; print(secrets.token_urlsafe(24))')
$JW review serve --db "$WORK/review.sqlite" --host 127.0.0.1 --port "$PORT" --token "$TOKEN" 2>"$WORK/serve.log" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT

# An analyst's judgement of each demo post (r = rumor, p = paid_posting, h = harassment, - = none).
cat > "$WORK/analyst.txt" <<'EOF'
demo-001 r
demo-002 -
demo-003 r
demo-004 -
demo-005 h
demo-006 p
demo-007 -
demo-008 r
demo-009 p
demo-010 r
demo-011 h
demo-012 -
demo-013 h
demo-014 r
demo-015 h
demo-016 -
demo-017 h
demo-018 p
demo-019 p
demo-020 p
demo-021 p
demo-022 p
demo-023 p
demo-024 r
demo-025 -
demo-026 p
demo-027 r
demo-028 -
demo-029 -
demo-030 h
demo-031 p
demo-032 h
demo-033 -
demo-034 -
demo-035 r
demo-036 p
demo-037 h
demo-038 -
demo-039 -
demo-040 r
demo-041 -
demo-042 r
demo-043 r
demo-044 -
demo-045 r
demo-046 -
demo-047 h
demo-048 -
demo-049 p
demo-050 h
demo-051 -
demo-052 -
demo-053 h
demo-054 -
demo-055 p
demo-056 h
demo-057 -
demo-058 -
demo-059 r
demo-060 p
EOF

URL="http://127.0.0.1:$PORT" TOKEN="$TOKEN" N="$N" ANSWERS="$WORK/analyst.txt" $BIN/python - <<'EOF'
import os, time, uuid
import httpx

url, n = os.environ["URL"], int(os.environ["N"])
headers = {"Authorization": f"Bearer {os.environ['TOKEN']}"}
code = {"r": "rumor", "p": "paid_posting", "h": "harassment"}
answers = dict(line.split() for line in open(os.environ["ANSWERS"], encoding="utf-8") if line.strip())
with httpx.Client(base_url=url, headers=headers, timeout=10) as c:
    for _ in range(100):  # wait for the server
        try:
            if c.get("/api/meta").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        raise SystemExit("the review server did not start (see serve.log)")
    assert httpx.get(f"{url}/api/stats").status_code == 401, "the API must refuse calls without the token"
    queue = c.get("/api/items", params={"status": "pending", "limit": n}).json()["items"]
    agree = 0
    for item in queue:
        labels = {r: int(k in answers[item["id"]]) for k, r in code.items()}
        body = {"reviewer": "demo-analyst", "labels": labels, "note": "examples/review_loop.sh",
                "decision_id": str(uuid.uuid4()), "expected_version": item["version"]}
        t0 = time.perf_counter()
        r = c.post(f"/api/items/{item['id']}/decision", json=body)
        r.raise_for_status()
        retry = c.post(f"/api/items/{item['id']}/decision", json=body)  # a retried POST: not applied twice
        assert retry.json()["status"] == "duplicate"
        agree += sorted(item["flags"]) == sorted(r for r in labels if labels[r])
    s = c.get("/api/stats").json()
    print(f"decided {len(queue)} items through the API ({s['decisions']} decisions in the audit log, "
          f"{s['pending']} still pending); the model's flags matched the analyst on {agree}/{len(queue)}")
    for r, m in s["risks"].items():
        prec = "-" if m["flag_precision"] is None else f"{m['flag_precision']:.2f}"
        print(f"  {r}: flagged {m['flagged_reviewed']}, confirmed {m['confirmed']} (precision {prec}), "
              f"missed {m['missed']}")
EOF
kill "$SERVER" 2>/dev/null || true

echo "== 4. export the reviewed samples"
$JW review export --db "$WORK/review.sqlite" --format jsonl --out "$WORK/reviewed.jsonl"
$JW review export --db "$WORK/review.sqlite" --format label-studio --out "$WORK/label_studio.json"

echo "== 5. retrain: base data + reviewed samples; promote only if not worse"
$JW retrain --base-config "$BASE_CONFIG" --reviewed "$WORK/reviewed.jsonl" --out "$WORK/models/demo" --from "$MODEL"
$JW models list "$WORK/models/demo"
