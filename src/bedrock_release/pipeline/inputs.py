"""Validators of the roles' inputs, by kind; each error names the variable (InvalidValueError).

``bedrock_release.inventory_validation`` holds the plan-specific ones (canary steps, time scale,
release, flags); this module adds the generic kinds the roles need and a table from kind name to
validator, so the ``validate_inputs`` module can check a whole role's inputs before anything changes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from bedrock_release import inventory_validation as iv
from bedrock_release.inventory_validation import InvalidValueError
from bedrock_release.pipeline.shared_state import SharedState

__all__ = ["KINDS", "InvalidValueError", "validate"]

_EU_REGION = re.compile(r"^eu-(central|west|north|south)-\d$")
_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$")
_SSM_PATH = re.compile(r"^/[\w./-]+[^/]$")
_RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9A-Za-z.+-]+$")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _text(value: Any, variable: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidValueError(variable, value, "must be a non-empty string")
    return value


def _optional_text(value: Any, variable: str) -> str:
    if value is None or value == "":
        return ""
    return _text(value, variable)


def _boolean(value: Any, variable: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidValueError(variable, value, "must be true or false")


def _positive_int(value: Any, variable: str) -> int:
    number = iv.positive_duration(value, variable)
    if number != int(number):
        raise InvalidValueError(variable, value, "must be a whole number")
    return int(number)


def _non_negative(value: Any, variable: str) -> float:
    if isinstance(value, bool):
        raise InvalidValueError(variable, value, "must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidValueError(variable, value, "must be a number") from None
    if not number >= 0:
        raise InvalidValueError(variable, value, "must be >= 0")
    return number


def _slot(value: Any, variable: str) -> str:
    if value not in ("blue", "green"):
        raise InvalidValueError(variable, value, "must be blue or green")
    return value


def _url(value: Any, variable: str) -> str:
    text = _text(value, variable)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidValueError(variable, value, "must be an http(s) URL")
    return text.rstrip("/")


def _loopback_url(value: Any, variable: str) -> str:
    text = _url(value, variable)
    host = urlsplit(text).hostname or ""
    try:
        ok = ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise InvalidValueError(variable, value, "the sandbox only listens on 127.0.0.1")
    return text


def _eu_region(value: Any, variable: str) -> str:
    text = _text(value, variable)
    if not _EU_REGION.fullmatch(text):
        raise InvalidValueError(
            variable, value, "must be an EU region such as eu-central-1 (EU data residency)"
        )
    return text


def _arn(value: Any, variable: str) -> str:
    text = _text(value, variable)
    if not _ARN.fullmatch(text):
        raise InvalidValueError(
            variable, value, "must be an AWS ARN (arn:aws:<service>:<region>:<account>:...)"
        )
    return text


def _ssm_path(value: Any, variable: str) -> str:
    text = _text(value, variable)
    if not _SSM_PATH.fullmatch(text):
        raise InvalidValueError(variable, value, "must be an absolute SSM path without a trailing slash")
    return text


def _run_id(value: Any, variable: str) -> str:
    if value in (None, ""):
        return ""
    text = _text(value, variable)
    if not _RUN_ID.fullmatch(text):
        raise InvalidValueError(variable, value, "must be a run id like 20261126T150000Z-1.1.0")
    return text


def _slot_map(value: Any, variable: str) -> dict[str, Any]:
    if not isinstance(value, Mapping) or set(value) != {"blue", "green"}:
        raise InvalidValueError(variable, value, "must map exactly blue and green")
    return dict(value)


def _list_of_text(value: Any, variable: str) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidValueError(variable, value, "must be a non-empty list")
    return [_text(item, f"{variable}[{i}]") for i, item in enumerate(value)]


#: Kind name -> validator(value, variable) returning the normalised value.
KINDS: Mapping[str, Callable[[Any, str], Any]] = {
    "bool": _boolean,
    "canary_steps": lambda v, n: list(iv.canary_steps(v, n)),
    "duration": iv.positive_duration,
    "eu_region": _eu_region,
    "arn": _arn,
    "flag": iv.flag_name,
    "flags": lambda v, n: list(iv.flag_names(v, n)),
    "list": _list_of_text,
    "loopback_url": _loopback_url,
    "non_negative": _non_negative,
    "optional_text": _optional_text,
    "percent": iv.percent,
    "port": iv.port,
    "positive_int": _positive_int,
    "release": iv.release_version,
    "run_id": _run_id,
    "shared_state": lambda v, n: SharedState.from_mapping(v, n).to_dict(),
    "slot": _slot,
    "slot_map": _slot_map,
    "ssm_path": _ssm_path,
    "text": _text,
    "time_scale": iv.time_scale,
    "url": _url,
}


def validate(
    inputs: Mapping[str, Mapping[str, Any]],
) -> tuple[dict[str, Any], list[InvalidValueError]]:
    """Validate ``{variable: {value, kind | choices, optional?}}``; return normalised values and every error.

    ``optional`` skips a variable whose value is None (not set by the inventory).
    """
    good: dict[str, Any] = {}
    errors: list[InvalidValueError] = []
    for variable, spec in inputs.items():
        kind = spec.get("kind", "text")
        value = spec.get("value")
        if value is None and spec.get("optional"):
            continue  # an input the inventory does not set: the role's own default applies
        choices: Sequence[Any] | None = spec.get("choices")
        try:
            if choices is not None:
                if value not in choices:
                    raise InvalidValueError(variable, value, f"must be one of {', '.join(map(str, choices))}")
                good[variable] = value
                continue
            if kind not in KINDS:
                raise InvalidValueError(variable, value, f"unknown validation kind {kind!r}")
            good[variable] = KINDS[kind](value, variable)
        except InvalidValueError as exc:
            errors.append(exc)
    return good, errors
