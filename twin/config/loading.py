"""Reading the YAML files into the models: turning pydantic's errors into the
`ConfigError` lines a person editing the file understands, and finding files by name."""

from __future__ import annotations

import importlib.resources
import os
import re
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from twin.config.checks import (
    Problems,
    check_scenario_against_tenant,
    scenario_problems,
    tenant_problems,
)
from twin.config.scenario import ScenarioConfig
from twin.config.tenant import TenantConfig
from twin.config.values import CONFIG_DIR_ENV, ConfigError, FileModel, show_value

# ---------------------------------------------------------------------------
# Loading.

_M = TypeVar("_M", bound=BaseModel)
_F = TypeVar("_F", bound=FileModel)


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional from a type annotation."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed at `loc` (the location of an unknown field) in `model`."""
    current: Any = model
    for part in loc[:-1]:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
        elif typing.get_origin(current) in (dict, list, tuple):
            current = typing.get_args(current)[-1]
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _field_path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


_SHOULD = re.compile(r"^[\w ]*?\bshould (?:be |have )?(.*)$", re.IGNORECASE)


def _problems_from(error: ValidationError, model: type[BaseModel]) -> list[tuple[str, str]]:
    problems = []
    for err in error.errors():
        loc, kind, msg = tuple(err["loc"]), err["type"], err["msg"]
        is_key = loc[-1:] == ("[key]",)  # pydantic's mark for a bad mapping key
        field = _field_path(loc[:-1] if is_key else loc)
        if kind == "missing":
            text = "expected a value (required), got nothing"
        elif kind == "extra_forbidden":
            allowed = _allowed_fields(model, loc)
            text = (
                f"unknown field, expected one of: {', '.join(allowed)}"
                if allowed
                else "unknown field"
            )
        else:
            msg = msg.removeprefix("Value error, ")
            if not msg.startswith("expected"):
                match = _SHOULD.match(msg)
                msg = f"expected {match.group(1)}" if match else f"expected: {msg}"
            if is_key:
                msg = msg.replace("expected ", "expected a key ", 1)
            text = msg if ", got " in msg else f"{msg}, got {show_value(err.get('input'))}"
        problems.append((field, text))
    return problems


def _load(path: str | os.PathLike[str], model: type[_M]) -> _M:
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            shown, [("", "expected an existing file, got nothing at this path")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, [("", f"expected a readable UTF-8 file, got {exc}")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            shown, [(where, f"expected valid YAML, got a syntax error ({problem})")]
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            shown, [("", f"expected a mapping at the top level, got {type(data).__name__}")]
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(shown, _problems_from(exc, model)) from None


def _load_checked(
    path: str | os.PathLike[str], model: type[_F], problems_of: Callable[[_F], Problems]
) -> _F:
    """Load a file into `model`, then run its cross-field checks; remember the file."""
    cfg = _load(path, model)
    problems = list(problems_of(cfg))
    if problems:
        raise ConfigError(path, problems)
    cfg._source = os.fspath(path)
    return cfg


def load_tenant_config(path: str | os.PathLike[str]) -> TenantConfig:
    """Load and check a tenant file; raise ConfigError when it is missing or invalid."""
    return _load_checked(path, TenantConfig, tenant_problems)


def load_scenario_config(path: str | os.PathLike[str]) -> ScenarioConfig:
    """Load and check a scenario file; raise ConfigError when it is missing or invalid."""
    return _load_checked(path, ScenarioConfig, scenario_problems)


def default_config_dir() -> Path:
    """The configuration folder: $TWIN_CONFIG_DIR if set, else the shipped tenants and
    scenarios (the repository's `config/`, installed in the package as
    `turingcore_scenarios`)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(str(importlib.resources.files("turingcore_scenarios")))


def _resolve(name_or_path: str | os.PathLike[str], folder: str, stem: str) -> Path:
    text = os.fspath(name_or_path)
    candidate = Path(text)
    if (
        candidate.suffix in (".yaml", ".yml")
        or os.sep in text
        or "/" in text
        or candidate.is_file()
    ):
        return candidate
    directory = default_config_dir() / folder
    path = directory / f"{stem}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in directory.glob("*.yaml")) if directory.is_dir() else []
        raise ConfigError(
            path,
            [
                (
                    "",
                    f"expected one of the {folder} in {directory} "
                    f"({', '.join(known) or 'none'}), got {text!r}",
                )
            ],
        )
    return path


def resolve_scenario(name_or_path: str | os.PathLike[str]) -> Path:
    """Turn "steady-state" into `<config dir>/scenarios/steady-state.yaml`; a path is kept.

    Raises ConfigError when a bare name matches no file.
    """
    return _resolve(name_or_path, "scenarios", os.fspath(name_or_path))


def resolve_tenant(name_or_path: str | os.PathLike[str]) -> Path:
    """Turn "cu-digital" or "CU_DIGITAL" into `<config dir>/tenants/cu-digital.yaml`.

    A path is kept. Raises ConfigError when a bare name matches no file.
    """
    text = os.fspath(name_or_path)
    return _resolve(name_or_path, "tenants", text.lower().replace("_", "-"))


def load_scenario_and_tenant(
    name_or_path: str | os.PathLike[str],
    tenant_path: str | os.PathLike[str] | None = None,
) -> tuple[ScenarioConfig, TenantConfig]:
    """Load a scenario and its tenant (from the scenario's `tenant` code unless given).

    Raises ConfigError when either file is invalid or they do not fit together.
    """
    scenario = load_scenario_config(resolve_scenario(name_or_path))
    tenant = load_tenant_config(
        resolve_tenant(tenant_path if tenant_path is not None else scenario.tenant)
    )
    check_scenario_against_tenant(scenario, tenant)
    return scenario, tenant
