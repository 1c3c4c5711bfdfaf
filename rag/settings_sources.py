"""Where effective settings come from: the shipped YAML, deep-merged under the user's file, under RAG_* env vars.

Kept apart from rag/settings.py (the typed models) so the models stay a plain list of fields. pydantic-settings
already puts environment variables over its init values; this module adds what it lacks: merging two YAML
files key by key (a user file naming only `server.port` keeps every other shipped value), refusing unknown
keys with their full dotted name (nested pydantic models ignore extras by default), and telling which layer
set each value (`rag settings show --sources`).
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from rag.errors import SettingsError

ENV_PREFIX = "RAG_"
ENV_DELIMITER = "__"
MASK = "****"
#: dotted paths whose values are secrets: shown masked
SECRET_PATHS = ("server.api_keys",)


def read_yaml(path: Path) -> dict[str, Any]:
    """A settings file's mapping; a missing, unparsable or non-mapping file is a SettingsError naming it."""
    if not path.is_file():
        raise SettingsError(f"settings file not found: {path}",
                            hint="check --settings / $RAG_SETTINGS, or leave both unset for the shipped defaults")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1})" if where is not None else ""
        raise SettingsError(f"settings file {path} is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}"
                            ) from None
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path} must hold a mapping at the top level")
    return data


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, mapping by mapping; lists and scalars in `over` replace `base`'s whole."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _section_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(the BaseModel a field holds, whether it is a list of them); (None, False) for plain values."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _section_model(arg)
            if found[0] is not None:
                return found
        return None, False
    if origin is list:
        args = typing.get_args(annotation)
        inner, _ = _section_model(args[0]) if args else (None, False)
        return inner, inner is not None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _keyed_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a `dict[str, Model]` field, else None."""
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        if len(args) == 2 and isinstance(args[1], type) and issubclass(args[1], BaseModel):
            return args[1]
    return None


def unknown_keys(model: type[BaseModel], data: Any, prefix: str = "") -> list[str]:
    """Dotted names of keys in `data` that `model` has no field for, at any depth."""
    if not isinstance(data, Mapping):
        return []
    out: list[str] = []
    for key, value in data.items():
        field = model.model_fields.get(str(key))
        if field is None:
            out.append(f"{prefix}{key}")
            continue
        sub, many = _section_model(field.annotation)
        keyed = _keyed_model(field.annotation)
        if keyed is not None and isinstance(value, Mapping):  # `kbs: {name: {...}}`: each value is a section
            for name, item in value.items():
                out += unknown_keys(keyed, item, f"{prefix}{key}.{name}.")
            continue
        if sub is None:
            continue
        if many and isinstance(value, list):
            for i, item in enumerate(value):
                out += unknown_keys(sub, item, f"{prefix}{key}[{i}].")
        else:
            out += unknown_keys(sub, value, f"{prefix}{key}.")
    return out


def env_paths(model: type[BaseModel], environ: Mapping[str, str] | None = None) -> dict[tuple[str, ...], str]:
    """Field path -> the RAG_* variable that sets it; a variable naming a section but no field is refused."""
    environ = os.environ if environ is None else environ
    out: dict[tuple[str, ...], str] = {}
    for name in environ:
        if not name.upper().startswith(ENV_PREFIX):
            continue
        path = tuple(p.lower() for p in name[len(ENV_PREFIX):].split(ENV_DELIMITER))
        if path[0] not in model.model_fields:
            continue  # RAG_SETTINGS, RAG_MODEL_CACHE, ...: not settings fields
        current: type[BaseModel] | None = model
        for i, part in enumerate(path):
            field = current.model_fields.get(part) if current is not None else None
            if field is None:
                raise SettingsError(f"environment variable {name}: unknown settings key "
                                    f"{'.'.join(path[: i + 1])!r}", hint=_choices(current))
            current = _section_model(field.annotation)[0]
        out[path] = name
    return out


def _choices(model: type[BaseModel] | None) -> str | None:
    return f"known keys there: {', '.join(model.model_fields)}" if model is not None else None


def refuse_unknown(model: type[BaseModel], data: Mapping[str, Any], where: str) -> None:
    """SettingsError naming every key of `data` (from `where`) that no settings field has."""
    unknown = unknown_keys(model, data)
    if unknown:
        raise SettingsError(f"{where}: unknown settings key{'s' if len(unknown) > 1 else ''} "
                            f"{', '.join(repr(k) for k in unknown)}",
                            hint="every key is listed, with its meaning, in rag/default_settings.yaml")


def explain_validation(exc: ValidationError, where: str) -> SettingsError:
    """One message naming each bad key and what is wrong with it."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')} (got {err.get('input')!r})")
    return SettingsError(f"{where}: {'; '.join(parts)}")


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists stay leaves."""
    if not isinstance(data, Mapping) or not data:
        return {prefix.rstrip("."): data} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(flatten(value, f"{prefix}{key}."))
    return out


def _has_path(data: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(data, Mapping) or part not in data:
            return False
        data = data[part]
    return True


def origin_of(dotted: str, env: dict[tuple[str, ...], str], user: Mapping[str, Any], user_file: Path | None) -> str:
    """Which layer set this (non-default) value: an env var, the user's file, or an explicit override."""
    path = tuple(dotted.split("."))
    for n in range(len(path), 0, -1):
        if path[:n] in env:
            return f"env {env[path[:n]]}"
    for n in range(len(path), 0, -1):
        if user_file is not None and _has_path(user, path[:n]):
            return f"file {user_file}"
    return "override"


def _masked_entry(value: Any) -> Any:
    """A secret list entry masked: a scoped key keeps its scope, never its key."""
    if isinstance(value, Mapping) and "key" in value:
        return {**value, "key": MASK}
    return MASK


def masked(dump: dict[str, Any]) -> dict[str, Any]:
    """The settings as JSON-able data with secrets replaced by a mask."""
    out = dict(dump)
    for dotted in SECRET_PATHS:
        section, _, key = dotted.partition(".")
        if isinstance(out.get(section), dict) and key in out[section]:
            value = out[section][key]
            out[section] = {**out[section], key: [_masked_entry(v) for v in value] if isinstance(value, list)
                            else MASK}
    state = out.get("shared_state")
    if isinstance(state, dict) and "@" in str(state.get("url", "")):
        scheme, sep, rest = str(state["url"]).partition("://")
        out["shared_state"] = {**state, "url": f"{scheme}{sep}{MASK}@{rest.rsplit('@', 1)[-1]}"}
    return out


__all__ = ["deep_merge", "env_paths", "explain_validation", "flatten", "masked", "origin_of", "read_yaml",
           "refuse_unknown", "unknown_keys"]
