"""Start one sandbox program from its launch spec: exact environment, only its secrets, then exec.

supervisord runs `python -m sandbox.launch <spec.json> --digest <d>` for every program, so its
config needs no environment quoting, holds no secrets, and changes (digest) whenever a spec does,
which lets `supervisorctl update` restart exactly the programs whose spec changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .secrets_file import read_secrets

__all__ = ["ProgramSpec", "main", "spec_digest", "write_spec"]


@dataclass(frozen=True)
class ProgramSpec:
    """What to exec: argv, the complete environment, which secrets to add, and the working folder."""

    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: str
    secrets: tuple[str, ...] = ()
    secrets_file: str | None = None
    meta: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """Canonical JSON (sorted keys), so equal specs have equal digests."""
        return json.dumps(
            {
                "argv": list(self.argv),
                "env": self.env,
                "cwd": self.cwd,
                "secrets": list(self.secrets),
                "secrets_file": self.secrets_file,
                "meta": self.meta,
            },
            sort_keys=True,
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> ProgramSpec:
        """Parse a spec written by to_json."""
        raw = json.loads(text)
        return cls(
            argv=tuple(raw["argv"]),
            env=dict(raw["env"]),
            cwd=raw["cwd"],
            secrets=tuple(raw.get("secrets", ())),
            secrets_file=raw.get("secrets_file"),
            meta=dict(raw.get("meta", {})),
        )


def spec_digest(text: str) -> str:
    """Short content digest of a spec's JSON."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_spec(path: Path, spec: ProgramSpec) -> str:
    """Write a spec atomically; returns its digest."""
    text = spec.to_json()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return spec_digest(text)


def main(argv: list[str] | None = None) -> int:
    """Read and verify the spec, assemble the environment and replace this process with the program."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.launch", description="Exec one sandbox program.")
    parser.add_argument("spec", type=Path)
    parser.add_argument(
        "--digest", required=True, help="digest the spec must have (guards half-written specs)"
    )
    args = parser.parse_args(argv)
    text = args.spec.read_text(encoding="utf-8")
    if spec_digest(text) != args.digest:
        print(
            f"{args.spec} changed since supervisord.conf was written; run the sandbox update", file=sys.stderr
        )
        return 2
    spec = ProgramSpec.from_json(text)
    env = dict(spec.env)
    if spec.secrets:
        if spec.secrets_file is None:
            print(f"{args.spec} names secrets but no secrets_file", file=sys.stderr)
            return 2
        available = read_secrets(Path(spec.secrets_file)).as_env()
        env |= {name: available[name] for name in spec.secrets}
    os.chdir(spec.cwd)
    os.execve(spec.argv[0], list(spec.argv), env)  # noqa: S606 - argv comes from the sandbox's own spec
    return 127  # not reached: execve replaces this process or raises


if __name__ == "__main__":
    sys.exit(main())
