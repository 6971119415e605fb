"""Configuration: frozen dataclasses per concern, read from and written to TOML.

A recipe's ``conf/*.toml`` has one table per concern (``[extract]``, ``[train]``, ...). Unknown keys
and wrong types are errors naming the file, so a typo never silently falls back to a default.
The effective configuration is written next to every run and stored in its checkpoints.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import tomli_w

from .errors import VawganError
from .fileio import write_text_atomic

T = TypeVar("T")


def check_choice(cfg, key: str, choices) -> None:
    """``cfg.key`` must be one of ``choices`` (the library's own list)."""
    value = getattr(cfg, key)
    if value not in choices:
        raise VawganError(None, f"[{_section(type(cfg))}] {key} = {value!r}: choose from {', '.join(map(str, choices))}")


def check_ranges(cfg, **rules: str) -> None:
    """Range checks of numeric settings, read when the config is built. A rule is ">= N", "> N" or
    "N..M" (both ends included); a tuple setting is checked element by element; None passes."""
    for key, rule in rules.items():
        value = getattr(cfg, key)
        for v in value if isinstance(value, (tuple, list)) else (value,):
            if v is None or _in_range(v, rule):
                continue
            shown = rule.replace(">=", "≥").replace("..", " to ")
            raise VawganError(None, f"[{_section(type(cfg))}] {key} = {value!r}: must be {shown}")


def check_arch_options(cfg) -> None:
    """A config of one arch that sets an option only the other arch has (away from its default) is
    refused in one line: it would be silently ignored. ``cfg.FRAME_ONLY`` / ``cfg.CONV_ONLY`` name them."""
    others = cfg.CONV_ONLY if cfg.arch == "frame" else cfg.FRAME_ONLY
    defaults = {f.name: f.default for f in dataclasses.fields(cfg)}
    given = [k for k in others if getattr(cfg, k) != defaults[k]]
    if given:
        raise VawganError(None, f"[{cfg.SECTION}] {', '.join(given)}: not an option of arch = {cfg.arch!r} "
                                f"(set arch = {'conv' if cfg.arch == 'frame' else 'frame'!r}, or leave {'it' if len(given) == 1 else 'them'} out)")


def check_conv_layers(cfg) -> None:
    """A conv arch's layers: as many ``dilations`` as ``channels``, and an odd ``kernel`` (each output
    frame centred on its input); refused in one line otherwise."""
    if len(cfg.channels) != len(cfg.dilations):
        raise VawganError(None, f"[{cfg.SECTION}] {len(cfg.channels)} channels need as many dilations, not {len(cfg.dilations)}")
    if cfg.kernel % 2 == 0:
        raise VawganError(None, f"[{cfg.SECTION}] kernel = {cfg.kernel}: must be odd (each output frame centred on its input)")


def _in_range(v, rule: str) -> bool:
    if rule.startswith(">="):
        return v >= float(rule[2:])
    if rule.startswith(">"):
        return v > float(rule[1:])
    lo, hi = rule.split("..")
    return float(lo) <= v <= float(hi)


def load_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise VawganError(path, "no such config file") from None
    except tomllib.TOMLDecodeError as e:
        raise VawganError(path, f"not valid TOML ({e})") from None


def from_dict(cls: type[T], data: dict[str, Any], where: str | Path | None = None) -> T:
    """Build dataclass ``cls`` from ``data``; nested dataclasses from nested tables."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise VawganError(where, f"unknown key(s) in [{_section(cls)}]: {', '.join(unknown)}; known: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, f"{_section(cls)}.{name}", where)
    try:
        return cls(**kwargs)
    except VawganError as e:
        raise VawganError(where, e.reason) from None


def _section(cls) -> str:
    return getattr(cls, "SECTION", cls.__name__)


def _coerce(hint, value, key: str, where):
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise VawganError(where, f"{key} must be a table")
        return from_dict(hint, value, where)
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        for opt in options:
            try:
                return _coerce(opt, value, key, where)
            except VawganError:
                continue
        raise VawganError(where, f"{key} = {value!r} is not {' or '.join(_KIND.get(o, o.__name__) for o in options)}")
    if origin in (tuple, list):
        (inner, *_) = typing.get_args(hint) or (Any,)
        if not isinstance(value, (list, tuple)):
            raise VawganError(where, f"{key} must be a list")
        return tuple(_coerce(inner, v, key, where) for v in value) if origin is tuple else [
            _coerce(inner, v, key, where) for v in value]
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is Any or (isinstance(hint, type) and isinstance(value, hint) and not (hint is int and isinstance(value, bool))):
        return value
    raise VawganError(where, f"{key} = {value!r} is not {_KIND.get(hint, getattr(hint, '__name__', hint))}")


_KIND = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def to_dict(obj) -> dict[str, Any]:
    """Dataclass -> plain dict, None values left out (TOML has no null)."""
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if x is not None}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return clean(dataclasses.asdict(obj))


def save_toml(path: str | Path, tables: dict[str, Any]) -> None:
    """Write ``{section: dataclass or dict}`` as TOML, atomically."""
    data = {k: to_dict(v) if dataclasses.is_dataclass(v) else v for k, v in tables.items()}
    write_text_atomic(path, tomli_w.dumps(data))


def load_section(path: str | Path | None, section: str, cls: type[T], **overrides) -> T:
    """``[section]`` of a TOML file as ``cls``, with non-None ``overrides`` applied on top."""
    data = dict(load_toml(path).get(section, {})) if path is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    return from_dict(cls, data, path)


def load_run_config(cls: type[T], path: str | Path | None, ignore: tuple[str, ...] = (), **overrides) -> T:
    """A run's configuration ``cls`` (a dataclass whose fields are its tables, e.g. ``train``) from
    a TOML file (or defaults), with ``overrides`` given as ``section__key=value`` applied on top
    (None means not given). Tables in ``ignore`` may be present and are skipped."""
    data = {k: dict(v) for k, v in (load_toml(path) if path else {}).items()}
    for key, value in overrides.items():
        if value is None:
            continue
        section, _, name = key.partition("__")
        data.setdefault(section, {})[name] = value
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = set(data) - set(known) - set(ignore)
    if unknown:
        raise VawganError(path, f"unknown table(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}")
    for name in ignore:
        data.pop(name, None)
    return from_dict(cls, data, path)
