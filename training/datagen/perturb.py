"""Evasive rewrites of posts, as water armies and abusers write them to dodge filters.
Used to measure robustness: a model should flag the rewrite as it flags the plain post.

Each rewrite takes (text, rng) and returns new text; `rate` is the share of eligible
characters touched. Deterministic for a given seed.
"""
from __future__ import annotations

import random
from functools import lru_cache
from typing import Callable

from opencc import OpenCC

EMOJI_SEPARATORS = ["🔥", "❤", "✨", "👉", "🌸", "⭐"]
SPLITTERS = [" ", "-", "*", ".", "/", "丨"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\ufeff"]
# what evaders write instead of the word (the cleaner must map these back)
HOMOGLYPHS = {"微信": ["薇信", "威信", "V信", "vx", "➕V"], "QQ": ["扣扣", "企鹅"], "加": ["➕", "+"],
              "刷单": ["刷*单", "刷.单"], "兼职": ["jz", "兼.职"]}
# homophones (same or near pinyin), a small hand-written table of common ones
HOMOPHONES = {"死": "屎", "傻": "沙", "垃圾": "辣鸡", "妈": "马", "蠢": "纯", "滚": "衮", "谣": "遥",
              "删": "山", "帖": "贴", "钱": "前", "骗": "片", "微": "威", "病": "并", "毒": "读", "狗": "苟"}


def _is_cjk(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"


@lru_cache(maxsize=1)
def _s2t() -> OpenCC:
    return OpenCC("s2t")


def traditional(text: str, rng: random.Random, rate: float = 1.0) -> str:
    return _s2t().convert(text)


def pinyin(text: str, rng: random.Random, rate: float = 0.15) -> str:
    """Some characters written as their pinyin (toneless)."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(c)[0] if _is_cjk(c) and rng.random() < rate else c for c in text)


def homophone(text: str, rng: random.Random, rate: float = 1.0) -> str:
    for word, sub in HOMOPHONES.items():
        if word in text and rng.random() < rate:
            text = text.replace(word, sub)
    return text


def split(text: str, rng: random.Random, rate: float = 0.3) -> str:
    """Characters split by spaces or symbols (加-微-信)."""
    out = []
    for i, c in enumerate(text):
        out.append(c)
        if _is_cjk(c) and i + 1 < len(text) and _is_cjk(text[i + 1]) and rng.random() < rate:
            out.append(rng.choice(SPLITTERS))
    return "".join(out)


def emoji(text: str, rng: random.Random, rate: float = 0.15) -> str:
    """Emoji dropped between characters."""
    return "".join(c + (rng.choice(EMOJI_SEPARATORS) if _is_cjk(c) and rng.random() < rate else "") for c in text)


def zero_width(text: str, rng: random.Random, rate: float = 0.5) -> str:
    return "".join(c + (rng.choice(ZERO_WIDTH) if rng.random() < rate else "") for c in text)


def homoglyph(text: str, rng: random.Random, rate: float = 1.0) -> str:
    """Contact words and trigger words in their evasive spellings; digits full-width or circled."""
    for word, subs in HOMOGLYPHS.items():
        if word in text:
            text = text.replace(word, rng.choice(subs))
    circled = "⓪①②③④⑤⑥⑦⑧⑨"
    return "".join(circled[int(c)] if c.isdigit() and c.isascii() and rng.random() < 0.5 else c for c in text)


PERTURBATIONS: dict[str, Callable[[str, random.Random], str]] = {
    "traditional": traditional, "pinyin": pinyin, "homophone": homophone, "split": split,
    "emoji": emoji, "zero-width": zero_width, "homoglyph": homoglyph,
}


def perturb(texts: list[str], kind: str, seed: int = 0) -> list[str]:
    """Rewrite every text with one perturbation (`all` is not handled here: loop over PERTURBATIONS)."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; choose from {', '.join(PERTURBATIONS)}")
    rng = random.Random(seed)
    return [PERTURBATIONS[kind](t, rng) for t in texts]
