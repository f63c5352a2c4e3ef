"""The one strict base of every config model, and config errors that name file, YAML path and reason."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

ENV_NAME = r"^[A-Z_][A-Z0-9_]{0,127}$"  # a field that names an environment variable (secrets stay out of files)


class StrictModel(BaseModel):
    """Unknown keys are errors, values are immutable after validation, no number is NaN or infinite, and inputs
    are kept out of error messages (camera URLs carry passwords)."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True, allow_inf_nan=False)


class ConfigError(ValueError):
    """A config that cannot be used; the message names the file, the YAML path and the reason."""


def yaml_path(location: tuple) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "(top level)"


def error_reason(error: ValueError) -> str:
    """A validation error as one line: `path: message; …`, never echoing the input."""
    if isinstance(error, ValidationError):
        return "; ".join(
            f"{yaml_path(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" if e["loc"] else
            e["msg"].removeprefix("Value error, ")
            for e in error.errors()
        )
    return str(error)


def merge_patch(target: object, patch: object) -> object:
    """JSON Merge Patch (RFC 7396): objects merge key by key, `null` deletes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged
