"""Dataclasses from plain dicts (TOML tables, JSON objects), checked once: an unknown key is an error
naming it with the closest known key, a value of the wrong type an error naming the key and the
type it takes. Used by training/recipe/ for recipes and the retrain config."""
from __future__ import annotations

import copy
import difflib
import json
import types
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Union, get_args, get_origin, get_type_hints

TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string", type(None): "unset"}


def unknown_key(key: str, known, what: str = "key", prefix: str = "") -> str:
    """One sentence: `key` is unknown, with the closest known key suggested (difflib) or the list."""
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean {prefix + close[0]!r}?" if close else f"known: {', '.join(known)}."
    return f"unknown {what} {prefix + key!r}; {hint}"


def type_name(tp) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is list:
        return f"a list of {plural(args[0])}"
    if origin is dict:
        return f"a table of {plural(args[1])}"
    if is_dataclass(tp):
        return "a table"
    return TYPE_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def plural(tp) -> str:
    name = type_name(tp)
    for article in ("an ", "a "):
        if name.startswith(article) and " or " not in name:
            return name[len(article):] + "s"
    return f"({name})"


def check(value, tp, where: str):
    """`value` as type `tp` (ints become floats where a number is wanted), or ValueError."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, types.UnionType):
        table = next((a for a in options(tp) if is_dataclass(a)), None)
        if table is not None and isinstance(value, dict):  # an optional section: its own error names the key
            return check(value, table, where)
        for a in options(tp):
            try:
                return check(value, a, where)
            except ValueError:
                continue
        raise ValueError(f"{where} must be {type_name(tp)}, not {value!r}")
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise ValueError(f"{where} must be a table, not {value!r}")
        return tp.from_dict(value) if hasattr(tp, "from_dict") else build(tp, value, where)  # from_dict names it
    ok = {bool: lambda v: isinstance(v, bool), int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), str: lambda v: isinstance(v, str),
          type(None): lambda v: v is None, Any: lambda v: True}
    if tp in ok:
        if not ok[tp](value):
            raise ValueError(f"{where} must be {type_name(tp)}, not {value!r}")
        return float(value) if tp is float else value
    if origin is list and isinstance(value, (list, tuple)):
        return [check(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict and isinstance(value, dict):
        return {str(k): check(v, args[1], f"{where}.{k}") for k, v in value.items()}
    raise ValueError(f"{where} must be {type_name(tp)}, not {value!r}")


def build(cls, raw, where: str = ""):
    """An instance of the dataclass `cls` from the dict `raw`, every key known and every value of
    its field's type; fields absent from `raw` keep their defaults. `where` names the table in
    messages ("" = the top level)."""
    prefix = f"{where}." if where else ""
    if not isinstance(raw, dict):
        raise ValueError(f"{where or 'the recipe'} must be a table, not {raw!r}")
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls) if f.init]
    for key in raw:
        if key not in names:
            raise ValueError(unknown_key(key, names, "section" if not where else "key", prefix))
    missing = [f.name for f in fields(cls) if f.init and f.name not in raw
               and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise ValueError(f"{prefix + missing[0]} is required")
    obj = cls(**{k: check(v, hints[k], prefix + k) for k, v in raw.items()})
    for f in fields(cls):
        choices = f.metadata.get("choices")
        if choices and getattr(obj, f.name) not in choices:
            raise ValueError(f"{prefix + f.name} must be one of {', '.join(choices)}, not {getattr(obj, f.name)!r}")
    return obj


def check_path(cls, keys: list[str], where: str) -> None:
    """That the dotted key `keys` names a setting of the dataclass `cls` (or a key inside one that
    takes a table): the check of a `--set` override before it is applied."""
    for i, key in enumerate(keys):
        hints = get_type_hints(cls)
        names = [f.name for f in fields(cls) if f.init]
        if key not in names:
            prefix = "".join(k + "." for k in keys[:i])
            raise ValueError(f"{where}: " + unknown_key(key, names, "key" if i else "section", prefix))
        tp = hints[key]
        section = next((a for a in options(tp) if is_dataclass(a)), None)
        if section is None:
            takes_table = any(get_origin(a) is dict for a in options(tp))
            if i < len(keys) - 1 and not takes_table:
                raise ValueError(f"{where}: {'.'.join(keys[:i + 1])} is {type_name(tp)}, it has no key {keys[i + 1]!r}")
            return
        if i == len(keys) - 1:
            raise ValueError(f"{where}: {'.'.join(keys)} is a section; set one of its keys ({'.'.join(keys)}.KEY=VALUE)")
        cls = section


def options(tp) -> tuple:
    """The types a value of `tp` may take: the members of a union, else `tp` itself."""
    return get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,)


def merge(base: dict, extra: dict) -> dict:
    """A copy of `base` with `extra` merged in: tables merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in extra.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def to_dict(obj) -> dict:
    """A dataclass as plain JSON-ready data (tuples as lists), unset (None) fields left out."""
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if v is None:
            continue
        out[f.name] = to_dict(v) if is_dataclass(v) else _plain(v)
    return out


def _plain(v):
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def parse_override(item: str) -> tuple[list[str], object]:
    """`section.key=value` as (keys, value): the value read as JSON when it is JSON, else a string."""
    if "=" not in item:
        raise ValueError(f"override {item!r} must look like section.key=value")
    key, raw = item.split("=", 1)
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip().split("."), value


def apply_overrides(recipe: dict, overrides: list[str]) -> dict:
    """A copy of the recipe dict with each `section.key=value` set (the value replaces what the key
    held; later overrides win)."""
    out = copy.deepcopy(recipe)
    for item in overrides:
        keys, value = parse_override(item)
        node = out
        for i, k in enumerate(keys[:-1]):
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {item}: {'.'.join(keys[:i + 1])} is not a table")
        node[keys[-1]] = value
    return out
