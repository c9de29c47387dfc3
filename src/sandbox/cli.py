"""Command line of the sandbox: python -m sandbox up|down|status|set-slot-release."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from . import control
from .errors import SandboxError
from .settings import PORT_FIELDS, SLOTS, SandboxSettings

__all__ = ["EXIT_DEGRADED", "EXIT_ERROR", "EXIT_NOT_RUNNING", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_ERROR = 1  # the operation failed (a part did not come up, a port is taken, ...)
EXIT_USAGE = 2  # bad arguments or settings
EXIT_NOT_RUNNING = 3  # status: the sandbox is not running (LSB convention)
EXIT_DEGRADED = 4  # status: running, but some part does not answer


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runtime-dir", type=Path, help="sandbox state folder (default runs/sandbox)")
    common.add_argument("--json", action="store_true", help="print the result as JSON")
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="Start, stop and inspect the sandbox."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", parents=[common], help="start the sandbox (harmless if it runs)")
    for field in PORT_FIELDS.values():
        start.add_argument(f"--{field.replace('_', '-')}", type=int, dest=field, metavar="PORT")
    start.add_argument("--start-timeout-s", type=float, help="how long to wait for every part to answer")
    start.add_argument("--slot-module", help="module the slots run (default support_service)")
    start.add_argument("--baseline-release", help="release both slots boot with (default 1.0.0)")
    start.add_argument(
        "--baseline-dir", type=Path, help="boot both slots from this folder instead of the artifact"
    )
    commands.add_parser("down", parents=[common], help="stop every sandbox process")
    commands.add_parser("status", parents=[common], help="show each part and its state")
    switch = commands.add_parser("set-slot-release", parents=[common], help="make a slot run a release")
    switch.add_argument("slot", choices=SLOTS)
    switch.add_argument("release")
    switch.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="extra environment")
    switch.add_argument("--release-dir", type=Path, help="run this folder instead of the built artifact")
    return parser


def _settings(args: argparse.Namespace) -> SandboxSettings:
    names = [
        *PORT_FIELDS.values(),
        "runtime_dir",
        "start_timeout_s",
        "slot_module",
        "baseline_release",
        "baseline_dir",
    ]
    overrides = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    return SandboxSettings(**overrides)


def _env_pairs(pairs: Sequence[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--env expects KEY=VALUE, got {pair!r}")
        env[key] = value
    return env


def _print_up(result: control.UpResult) -> None:
    if result.already_running:
        print(f"sandbox already running (checked in {result.duration_s:.1f} s)")
    else:
        print(f"sandbox up in {result.duration_s:.1f} s; started: {', '.join(result.started)}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    for name, url in result.endpoints.items():
        print(f"  {name:14} {url}")


def _print_status(result: control.SandboxStatus) -> None:
    print(f"sandbox in {result.runtime_dir}: {'running' if result.running else 'not running'}")
    for part in result.parts:
        answer = "answers" if part.answering else "no answer"
        print(f"  {part.name:17} {part.state:9} pid {part.pid:<7} {answer:9}  {part.detail}")
    for slot, info in result.slots.items():
        print(f"  slot {slot}: release {info['release']} ({info['source']}: {info['pythonpath']})")
    if result.weights is not None:
        print(f"  weights: {result.weights}")


def _emit(args: argparse.Namespace, payload: dict[str, Any], human: str) -> None:
    print(json.dumps(payload, indent=2, default=str) if args.json else human)


def _up(args: argparse.Namespace, settings: SandboxSettings) -> int:
    result = control.up(settings)
    if args.json:
        _emit(args, result.to_dict(), "")
    else:
        _print_up(result)
    return EXIT_OK


def _down(args: argparse.Namespace, settings: SandboxSettings) -> int:
    result = control.down(settings)
    message = f"stopped: {', '.join(result.stopped)}" if result.changed else "sandbox was not running"
    _emit(args, result.to_dict(), message)
    return EXIT_OK


def _status(args: argparse.Namespace, settings: SandboxSettings) -> int:
    result = control.status(settings)
    if args.json:
        _emit(args, result.to_dict(), "")
    else:
        _print_status(result)
    if not result.running:
        return EXIT_NOT_RUNNING
    return EXIT_OK if result.healthy else EXIT_DEGRADED


def _switch(args: argparse.Namespace, settings: SandboxSettings) -> int:
    env = _env_pairs(args.env)
    result = control.set_slot_release(
        args.slot, args.release, env, settings=settings, release_dir=args.release_dir
    )
    verb = "now runs" if result.changed else "already runs"
    _emit(args, result.to_dict(), f"slot {result.slot} {verb} release {result.release}")
    return EXIT_OK


_COMMANDS = {"up": _up, "down": _down, "status": _status, "set-slot-release": _switch}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        _env_pairs(getattr(args, "env", []))
    except (ValidationError, ValueError) as exc:
        print(f"invalid settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return _COMMANDS[args.command](args, settings)
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
