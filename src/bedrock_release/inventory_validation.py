"""Validators for inventory and CLI values; each error names the variable, the value and what is wrong."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from bedrock_release.plan import FLAGS

__all__ = [
    "SEMVER",
    "InvalidValueError",
    "canary_steps",
    "flag_name",
    "flag_names",
    "percent",
    "port",
    "positive_duration",
    "release_version",
    "time_scale",
    "validate_all",
]

#: semver.org 2.0.0's recommended regular expression (no leading "v", no leading zeros).
SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class InvalidValueError(ValueError):
    """A bad input value: ``variable = value: problem``."""

    def __init__(self, variable: str, value: Any, problem: str) -> None:
        self.variable, self.value, self.problem = variable, value, problem
        super().__init__(f"{variable} = {value!r}: {problem}")


def _number(value: Any, variable: str) -> float:
    # Ansible extra-vars arrive as strings; a bool is never a number here.
    if isinstance(value, bool):
        raise InvalidValueError(variable, value, "must be a number, not a boolean")
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidValueError(variable, value, "must be a number") from None
    if not isinstance(value, int | float):
        raise InvalidValueError(variable, value, f"must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise InvalidValueError(variable, value, "must be finite")
    return float(value)


def _integer(value: Any, variable: str) -> int:
    number = _number(value, variable)
    if number != int(number):
        raise InvalidValueError(variable, value, "must be a whole number")
    return int(number)


def canary_steps(value: Any, variable: str = "traffic_canary_steps") -> tuple[int, ...]:
    """Return canary weights: whole percents 0-100, strictly increasing, ending at 100."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise InvalidValueError(variable, value, "must be a non-empty list of weights, e.g. [5, 25, 50, 100]")
    steps = []
    for index, item in enumerate(items):
        try:
            weight = _integer(item, f"{variable}[{index}]")
        except InvalidValueError as exc:
            raise InvalidValueError(variable, value, f"step {index}: {exc.problem}") from None
        if not 0 <= weight <= 100:
            raise InvalidValueError(variable, value, f"step {index} ({weight}) must be between 0 and 100")
        if steps and weight <= steps[-1]:
            raise InvalidValueError(
                variable, value, f"must be strictly increasing ({weight} after {steps[-1]})"
            )
        steps.append(weight)
    if steps[-1] != 100:
        raise InvalidValueError(
            variable, value, f"must end at 100 (the new slot takes all traffic), ends at {steps[-1]}"
        )
    return tuple(steps)


def positive_duration(value: Any, variable: str) -> float:
    """Return a duration in seconds that is finite and > 0."""
    seconds = _number(value, variable)
    if seconds <= 0:
        raise InvalidValueError(variable, value, "must be > 0 seconds")
    return seconds


def time_scale(value: Any, variable: str = "time_scale") -> float:
    """Return a time scale in (0, 1]: 1 is the plan's real time, less compresses every wait."""
    scale = _number(value, variable)
    if not 0 < scale <= 1:
        raise InvalidValueError(variable, value, "must be in (0, 1]: 1 is the plan's own timing")
    return scale


def release_version(value: Any, variable: str = "release_version") -> str:
    """Return a strict semantic version (X.Y.Z, optional -pre and +build; no leading v)."""
    if not isinstance(value, str) or not SEMVER.fullmatch(value):
        raise InvalidValueError(variable, value, "must be a semantic version like 1.1.0 (semver.org 2.0.0)")
    return value


def flag_name(value: Any, variable: str = "flag") -> str:
    """Return one of the plan's five feature flags, suggesting the closest on a typo."""
    if value in FLAGS:
        return value
    close = difflib.get_close_matches(str(value), FLAGS, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise InvalidValueError(variable, value, f"must be one of {', '.join(FLAGS)}{hint}")


def flag_names(value: Any, variable: str = "flags") -> tuple[str, ...]:
    """Return a list of distinct plan flags."""
    if not isinstance(value, list | tuple):
        raise InvalidValueError(variable, value, "must be a list of flag names")
    names = tuple(flag_name(item, f"{variable}[{index}]") for index, item in enumerate(value))
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidValueError(variable, value, f"lists {', '.join(duplicates)} more than once")
    return names


def percent(value: Any, variable: str) -> float:
    """Return a percentage in [0, 100]."""
    number = _number(value, variable)
    if not 0 <= number <= 100:
        raise InvalidValueError(variable, value, "must be between 0 and 100")
    return number


def port(value: Any, variable: str) -> int:
    """Return a TCP port in [1, 65535]."""
    number = _integer(value, variable)
    if not 1 <= number <= 65535:
        raise InvalidValueError(variable, value, "must be a TCP port between 1 and 65535")
    return number


def validate_all(
    values: Mapping[str, Any], spec: Mapping[str, Callable[[Any, str], Any]]
) -> tuple[dict[str, Any], list[InvalidValueError]]:
    """Validate every variable in spec; return normalised values and all errors, not just the first."""
    good: dict[str, Any] = {}
    errors: list[InvalidValueError] = []
    for variable, check in spec.items():
        if variable not in values:
            errors.append(InvalidValueError(variable, None, "is required"))
            continue
        try:
            good[variable] = check(values[variable], variable)
        except InvalidValueError as exc:
            errors.append(exc)
    return good, errors
