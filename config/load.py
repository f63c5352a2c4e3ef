"""Reading YAML into config models: one `ConfigError` listing every problem as `FILE: yaml.path: reason`."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from matakota.config.base import ConfigError, yaml_path
from matakota.config.root import Config


def validate(model: type[BaseModel], data: object, source: str) -> BaseModel:
    """`data` as `model`, or one ConfigError listing every problem as `SOURCE: yaml.path: reason`."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as error:
        raise ConfigError("\n".join(_problem(source, e) for e in error.errors())) from None


def _problem(source: str, error: dict) -> str:
    reason = error["msg"].removeprefix("Value error, ")
    if not error["loc"] and error["type"] == "value_error":
        return f"{source}: {reason}"  # cross-field checks name their field themselves (`rules[0].zone: …`)
    return f"{source}: {yaml_path(error['loc'])}: {reason}"


def read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise ConfigError(f"{path}: {where}invalid YAML: {getattr(error, 'problem', error)}") from None


def load_file(model: type[BaseModel], path: Path | str) -> BaseModel:
    """A YAML file as `model` (e.g. a camera's analytics section for `matakota analyze`)."""
    return validate(model, read_yaml(Path(path)), str(path))


def parse_config(data: object, source: str = "<config>") -> Config:
    return validate(Config, data, source)


def load_config(path: Path | str | None) -> Config:
    """Read a YAML config; `None` gives the defaults."""
    if path is None:
        return Config()
    return load_file(Config, path)
