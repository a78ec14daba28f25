"""The bad-input corpus of issue 13: every kind of bad input record, written as JSONL, CSV and
Parquet between good records, and what `jingwang score` must do with each one: score it once
(a good record, however odd), report it once in `<out>.errors.jsonl` with its line (row) number
and a reason, or skip it (a blank line). Exit 0, no traceback, strict JSON out.

    python tests/bad_inputs.py --report [--model DIR]

writes the corpus to a temporary folder, runs `jingwang score` on every file (a tiny model is
trained when no --model is given) and prints: bad inputs tried, tracebacks, good records lost,
bad records unreported. `tests/test_bad_inputs.py` runs the same corpus in the test suite.
"""
from __future__ import annotations

import argparse
import codecs
import csv
import datetime as dt
import decimal
import io
import json
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

GOOD = ["今天天气不错，出去走走", "这家店的面很好吃", "谢谢大家的帮助", "明天开会记得带电脑"]
BOM = codecs.BOM_UTF8
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


@dataclass
class Case:
    """One input record. `reason` (a part of the expected reason): it must be reported;
    else `id`: it must be scored under that id; neither: it is no record (a blank line)."""
    kind: str
    data: object
    reason: str | None = None
    id: str | None = None


@dataclass
class CorpusFile:
    path: Path
    cases: list[tuple[int, Case]] = field(default_factory=list)  # (line or row, case)

    @property
    def bad(self) -> dict[int, Case]:
        return {ln: c for ln, c in self.cases if c.reason}

    @property
    def good(self) -> list[str]:
        return [c.id for _, c in self.cases if c.id and not c.reason]

    @property
    def tried(self) -> int:
        """Records of an odd kind (good fillers between them not counted)."""
        return sum(1 for _, c in self.cases if c.kind != "good")


def _j(**rec) -> bytes:
    return json.dumps(rec, ensure_ascii=False).encode("utf-8")


def jsonl_cases() -> list[Case]:
    g = GOOD[0]
    return [
        Case("UTF-8 BOM before the first record", BOM + _j(id="bom", text=g), id="bom"),
        Case("malformed JSON", b'{"id": "m1", "text": ', "malformed JSON"),
        Case("trailing garbage", _j(id="m2", text=g) + b" xx", "malformed JSON"),
        Case("a raw NUL byte outside a string", b'{"id": "m3",\x00 "text": "a"}', "malformed JSON"),
        Case("an array", b"[1, 2]", "not a JSON object"),
        Case("a number", b"42", "not a JSON object"),
        Case("a string", b'"text"', "not a JSON object"),
        Case("null", b"null", "not a JSON object"),
        Case("missing text", _j(id="t1"), "missing text field"),
        Case("text is a number", _j(id="t2", text=5), "not text"),
        Case("text is a list", _j(id="t3", text=[g]), "not text"),
        Case("text is null", _j(id="t4", text=None), "not text"),
        Case("text is NaN", b'{"id": "t5", "text": NaN}', "not text"),
        Case("whitespace text", _j(id="e1", text="  \t "), "empty text"),
        Case("ideographic spaces", _j(id="e2", text="\u3000\u3000"), "empty text"),
        Case("zero-width text", _j(id="e3", text=ZERO_WIDTH), "empty text"),
        Case("NUL text", b'{"id": "e4", "text": "\\u0000\\u0000"}', "empty text"),
        Case("zero-width, NUL and spaces", b'{"id": "e5", "text": "\\u200b \\u0000 \\u00ad\\u0007"}', "empty text"),
        Case("invalid UTF-8 in text", b'{"id": "u1", "text": "\xff\xfe bad"}', "invalid UTF-8"),
        Case("invalid UTF-8 in another field", b'{"id": "u2", "text": "ok", "author": "\xc3\x28"}', "invalid UTF-8"),
        Case("lone surrogate in text", b'{"id": "s1", "text": "\\ud800 x"}', "invalid UTF-8"),
        Case("lone surrogate in another field", b'{"id": "s2", "text": "ok", "author": "\\ud800"}', "invalid UTF-8"),
        Case("lone surrogate in a key", b'{"id": "s3", "text": "ok", "\\udfff": 1}', "invalid UTF-8"),
        Case("lone surrogate in the id", b'{"id": "\\udc80", "text": "ok"}', "invalid UTF-8"),
        Case("lone surrogate deep inside", b'{"id": "s5", "text": "ok", "m": [{"a": ["\\ud83d"]}]}', "invalid UTF-8"),
        Case("nested 100,000 levels", b'{"id": "n1", "text": "ok", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
             "nested too deeply"),
        Case("nested 100,000 objects", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "nested too deeply"),
        Case("nested 900 levels (parses, too deep to write further down the stack)",
             b'{"id": "n3", "text": "ok", "x": ' + b"[" * 900 + b"]" * 900 + b"}", "nested too deeply"),
        Case("5,000-digit integer", b'{"id": "b1", "text": "ok", "n": ' + b"9" * 5000 + b"}", "number"),
        Case("5,000-digit integer id", b'{"id": ' + b"7" * 5000 + b', "text": "ok"}', "number"),
        Case("NaN in a field", b'{"id": "f1", "text": "%s", "n": NaN}' % g.encode(), id="f1"),
        Case("Infinity and -Infinity", b'{"id": "f2", "text": "%s", "a": Infinity, "b": -Infinity}' % g.encode(),
             id="f2"),
        Case("1e999 in a field", b'{"id": "f3", "text": "%s", "n": 1e999, "m": [-1e999]}' % g.encode(), id="f3"),
        Case("4,000-digit integer", b'{"id": "b2", "text": "%s", "n": ' % g.encode() + b"9" * 4000 + b"}", id="b2"),
        Case("NUL inside a text with words", b'{"id": "z1", "text": "%s\\u0000"}' % g.encode(), id="z1"),
        Case("a valid surrogate pair", b'{"id": "z2", "text": "%s \\ud83d\\ude00"}' % g.encode(), id="z2"),
        Case("text of 200,000 characters", _j(id="l1", text="好" * 200_000), id="l1"),
        Case("CRLF line end", _j(id="c1", text=g) + b"\r", id="c1"),
        Case("its own scores, flags, model and campaign fields",
             _j(id="o1", text=g, scores={"rumor": 2}, flags="x", model=1, campaign={"size": {"toString": 1}}), id="o1"),
        Case("an id used before", _j(id="c1", text=GOOD[1]), id="c1"),
        Case("blank line", b"   \t"),
    ]


def write_jsonl(path: Path) -> CorpusFile:
    out, lines, n = CorpusFile(path), [], 0
    for case in with_fillers(jsonl_cases()):
        lines.append(case.data)
        n += 1
        out.cases.append((n, case))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return out


def with_fillers(cases: list[Case]) -> list[Case]:
    """A good record after every case, so a case that swallows its neighbour shows."""
    out = []
    for i, c in enumerate(cases):
        out += [c, Case("good", _j(id=f"ok{i}", text=GOOD[i % len(GOOD)], author="u"), id=f"ok{i}")]
    return out


def _row(*fields: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(fields)
    return buf.getvalue().encode("utf-8", "surrogateescape")


def csv_cases() -> list[Case]:
    g = GOOD[1]
    return [
        Case("UTF-8 BOM before the header", BOM + b"id,text,author"),
        Case("first row after a BOM", _row("bom", g, "a"), id="bom"),
        Case("more fields than the header", _row("x1", g, "a", "extra"), "more fields"),
        Case("fewer fields: no text", _row("x2"), "not text"),
        Case("whitespace text", _row("x3", "   ", "a"), "empty text"),
        Case("zero-width text", _row("x4", ZERO_WIDTH, "a"), "empty text"),
        Case("NUL text", _row("x5", "\x00\x00", "a"), "empty text"),
        Case("invalid UTF-8 in text", b'x6,"\xff\xfe bad",a', "invalid UTF-8"),
        Case("invalid UTF-8 in another field", b'x7,ok,"\xc3\x28"', "invalid UTF-8"),
        Case("field over 131,072 characters (text)", _row("x8", "好" * 140_000, "a"), id="x8"),
        Case("field over 131,072 characters (other)", _row("x9", g, "a" * 140_000), id="x9"),
        Case("NaN and 1e999 as text", _row("x10", g, "NaN"), id="x10"),
        Case("NUL inside a text with words", _row("x11", g + "\x00", "a"), id="x11"),
    ]


def write_csv(path: Path, cases: list[Case] | None = None) -> CorpusFile:
    """The first case is the header line."""
    cases = cases if cases is not None else csv_cases()
    out, lines = CorpusFile(path, [(1, cases[0])]), [cases[0].data]
    fill = [Case(c.kind, _row(*json.loads(c.data).values()), id=c.id) if c.kind == "good" else c
            for c in with_fillers(cases[1:])]
    for case in fill:
        lines.append(case.data)
        out.cases.append((len(lines), case))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return out


def write_csv_text_first(path: Path) -> CorpusFile:
    """A BOM in front of a header whose first column is the text (every row was rejected)."""
    out = CorpusFile(path)
    rows = [_row(GOOD[i], f"tf{i}") for i in range(3)]
    path.write_bytes(BOM + b"text,id\n" + b"\n".join(rows) + b"\n")
    out.cases = [(i + 2, Case("text column first, after a BOM", r, id=f"tf{i}")) for i, r in enumerate(rows)]
    return out


PARQUET_EXTRA = {  # a column of each Arrow type JSON has no place for, and its JSON form
    "ts": (dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.timezone.utc), "2024-05-01T08:30:00+00:00"),
    "day": (dt.date(2024, 5, 1), "2024-05-01"),
    "at": (dt.time(8, 30), "08:30:00"),
    "raw": (b"\x00\xff", "AP8="),
    "price": (decimal.Decimal("12.50"), "12.50"),
    "wait": (dt.timedelta(seconds=90), "PT90.0S"),
    "tags": (["a", "b"], ["a", "b"]),
    "meta": ({"k": 1.5}, {"k": 1.5}),
}


def parquet_cases() -> list[Case]:
    g = GOOD[2].encode()
    return [
        Case("timestamp, date, time, binary, decimal, duration, list, struct", (b"p1", g, 1.0), id="p1"),
        Case("NaN in a float column", (b"p2", g, float("nan")), id="p2"),
        Case("Infinity in a float column", (b"p3", g, float("inf")), id="p3"),
        Case("null text", (b"p4", None, 1.0), "not text"),
        Case("whitespace text", (b"p5", b"   ", 1.0), "empty text"),
        Case("zero-width text", (b"p6", ZERO_WIDTH.encode(), 1.0), "empty text"),
        Case("NUL text", (b"p7", b"\x00\x00", 1.0), "empty text"),
        Case("invalid UTF-8 in the text column", (b"p8", b"\xff\xfe bad", 1.0), "unreadable row"),
        Case("invalid UTF-8 in the id column", (b"\xc3\x28", g, 1.0), "unreadable row"),
    ]


def write_parquet(path: Path) -> CorpusFile:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = CorpusFile(path)
    rows = []
    for i, c in enumerate(with_fillers(parquet_cases())):
        if c.kind == "good":
            c = Case("good", (f"ok{i // 2}".encode(), GOOD[0].encode(), 0.5), id=c.id)
        rows.append(c.data)
        out.cases.append((i + 1, c))
    ids, texts, nums = zip(*rows)
    cols = {"id": pa.array(ids, pa.binary()).view(pa.string()),
            "text": pa.array(texts, pa.binary()).view(pa.string()), "n": pa.array(nums, pa.float64())}
    cols.update({k: pa.array([v] * len(rows)) for k, (v, _) in PARQUET_EXTRA.items()})
    pq.write_table(pa.table(cols), path, row_group_size=7)
    return out


def write_corpus(folder: Path) -> list[CorpusFile]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_jsonl(folder / "bad.jsonl"), write_csv(folder / "bad.csv"),
            write_csv_text_first(folder / "text_first.csv"), write_parquet(folder / "bad.parquet")]


def _no_constant(c: str):
    raise ValueError(f"not strict JSON: {c}")


def strict_lines(path: Path) -> list[dict]:
    """The records of a JSONL file; ValueError on anything but strict JSON (RFC 8259)."""
    return [json.loads(x, parse_constant=_no_constant) for x in path.read_text(encoding="utf-8").splitlines()]


@dataclass
class Tally:
    tried: int = 0
    tracebacks: int = 0
    good_lost: int = 0
    bad_unreported: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: "Tally") -> None:
        for k in ("tried", "tracebacks", "good_lost", "bad_unreported"):
            setattr(self, k, getattr(self, k) + getattr(other, k))
        self.problems += other.problems


def check_run(cf: CorpusFile, out: Path, exit_code: int, output: str) -> Tally:
    """What one `jingwang score` run did with a corpus file, against what it must do."""
    t = Tally(tried=cf.tried)
    if exit_code != 0 or "Traceback" in output:
        t.tracebacks += 1
        t.problems.append(f"{cf.path.name}: exit {exit_code}: {output[-2000:]}")
    scored = Counter(r.get("id") for r in strict_lines(out)) if out.exists() else Counter()
    for rid, n in Counter(cf.good).items():
        if scored[rid] != n:
            t.good_lost += abs(n - scored[rid])
            t.problems.append(f"{cf.path.name}: good record {rid!r} scored {scored[rid]} times, not {n}")
    errors = Path(str(out.with_suffix("")) + ".errors.jsonl")
    reported = [e for e in strict_lines(errors) if not e["reason"].startswith("long text")] if errors.exists() else []
    for line, case in cf.bad.items():
        hits = [e for e in reported if e["line"] == line and case.reason in e["reason"]]
        if len(hits) != 1:
            t.bad_unreported += 1
            t.problems.append(f"{cf.path.name}, line {line} ({case.kind}): reported {len(hits)} times "
                              f"with {case.reason!r}; errors there: {[e for e in reported if e['line'] == line]}")
    known = {ln for ln, c in cf.cases if c.reason or c.id}  # a good record may carry a warning
    t.problems += [f"{cf.path.name}: unexpected error {e}" for e in reported if e["line"] not in known]
    return t


def run_cli(args: list[str]) -> tuple[int, str]:
    """`jingwang <args>` in a new process: exit code, stdout and stderr."""
    p = subprocess.run([sys.executable, "-c", "from detector.cli import main; main()", *args],
                       capture_output=True, text=True, errors="replace", cwd=Path(__file__).resolve().parent.parent)
    return p.returncode, p.stdout + p.stderr


def table_ids(out: Path) -> list:
    """The ids of a CSV or Parquet output file."""
    if out.suffix == ".parquet":
        import pyarrow.parquet as pq
        return pq.read_table(out).column("id").to_pylist()
    csv.field_size_limit(2**26)  # the corpus has a text of 200,000 characters
    with open(out, encoding="utf-8", newline="") as f:
        return [r["id"] for r in csv.DictReader(f)]


def check_table_run(cf: CorpusFile, out: Path, exit_code: int, output: str) -> Tally:
    """A run into CSV or Parquet output: exit 0, no traceback, every good record once."""
    t = Tally()
    if exit_code != 0 or "Traceback" in output:
        t.tracebacks += 1
        t.problems.append(f"{cf.path.name} -> {out.name}: exit {exit_code}: {output[-2000:]}")
    ids = Counter(table_ids(out)) if out.exists() else Counter()
    lost = {rid: n for rid, n in Counter(cf.good).items() if ids[rid] != n}
    t.good_lost += sum(abs(n - ids[rid]) for rid, n in lost.items())
    t.problems += [f"{cf.path.name} -> {out.name}: good record {rid!r} written {ids[rid]} times, not {n}"
                   for rid, n in lost.items()]
    return t


def run_corpus(folder: Path, model: Path, run=run_cli) -> Tally:
    """Every corpus file into JSONL (checked record by record), the JSONL corpus into CSV and Parquet."""
    total = Tally()
    files = write_corpus(folder)
    for cf in files:
        out = folder / f"{cf.path.stem}-{cf.path.suffix[1:]}.out.jsonl"
        code, output = run(["score", str(cf.path), "--model", str(model), "--out", str(out), "--quiet"])
        total.add(check_run(cf, out, code, output))
    for ext in ("csv", "parquet"):
        out = folder / f"jsonl-in.out.{ext}"
        code, output = run(["score", str(files[0].path), "--model", str(model), "--out", str(out), "--quiet"])
        total.add(check_table_run(files[0], out, code, output))
    return total


def train_tiny(folder: Path) -> Path:
    """The test suite's tiny model (tests/conftest.py), trained into `folder`."""
    from tests import conftest as c
    from training.trainers.fast import train_fast

    root = folder / "datasets"
    for split in ("train", "dev", "test"):
        c._write(root / "cold" / f"{split}.jsonl", c._split(f"cold-{split}", c.HARASS, c.SAFE, 2))
    for split, file in (("train", "train"), ("dev", "val"), ("test", "test")):
        c._write(root / "weibo21" / f"{file}.jsonl", c._split(f"weibo21-{split}", c.RUMOR, c.NEWS, 2))
    c._write(root / "sms_spam_cn_10k" / "all.jsonl", c._split("smsspam", c.SPAM, c.HAM, 8))
    train_fast(c.tiny_recipe(), folder / "tiny", root=root, log=lambda m: None)
    return folder / "tiny"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--report", action="store_true", help="run the corpus and print the counts")
    ap.add_argument("--model", type=Path, help="model folder (default: train the tests' tiny model)")
    ap.add_argument("--out", type=Path, help="write the corpus here (default: a temporary folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp) / "corpus"
        if not args.report:
            files = write_corpus(folder)
            print(f"{sum(f.tried for f in files)} bad inputs written to {folder}")
            return
        model = args.model or train_tiny(Path(tmp))
        t = run_corpus(folder, model)
    for p in t.problems:
        print(p)
    print(f"bad inputs tried: {t.tried}\ntracebacks: {t.tracebacks}\ngood records lost: {t.good_lost}\n"
          f"bad records unreported: {t.bad_unreported}")
    sys.exit(1 if t.tracebacks or t.good_lost or t.bad_unreported else 0)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
