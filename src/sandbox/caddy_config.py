"""Caddy's JSON config: the weighted blue/green proxy and its admin API, both on loopback."""

from __future__ import annotations

from typing import Any

from ._loopback import LOOPBACK
from .paths import SandboxPaths
from .settings import SLOTS, SandboxSettings

__all__ = ["INITIAL_WEIGHTS", "SLOTS_HANDLER_ID", "WEIGHTS_PATH", "caddy_config"]

SLOTS_HANDLER_ID = "slots"
# Admin API path of the weights list, in SLOTS order (blue, green): GET reads, PATCH replaces.
WEIGHTS_PATH = f"/id/{SLOTS_HANDLER_ID}/load_balancing/selection_policy/weights"
INITIAL_WEIGHTS = (100, 0)


def caddy_config(settings: SandboxSettings, weights: tuple[int, int] = INITIAL_WEIGHTS) -> dict[str, Any]:
    """The config Caddy boots with; weights follow SLOTS order."""
    paths = SandboxPaths.of(settings.runtime_dir)
    return {
        "admin": {
            "listen": f"{LOOPBACK}:{settings.caddy_admin_port}",
            # Autosave every change (weight PATCHes included) so a restarted Caddy resumes them (--resume);
            # the autosave lives in the runtime folder and a cold `up` deletes it.
            "config": {"persist": True},
        },
        "storage": {"module": "file_system", "root": str(paths.caddy_home / "data")},
        "logging": {"logs": {"default": {"level": "WARN"}}},
        "apps": {
            "http": {
                # Old servers stop after this on a config reload, so a hung request can't pin them.
                "grace_period": "5s",
                "servers": {
                    "proxy": {
                        "listen": [f"{LOOPBACK}:{settings.caddy_proxy_port}"],
                        "protocols": ["h1", "h2c"],
                        "automatic_https": {"disable": True},
                        "routes": [{"handle": [_reverse_proxy(settings, weights)]}],
                    }
                },
            }
        },
    }


def _reverse_proxy(settings: SandboxSettings, weights: tuple[int, int]) -> dict[str, Any]:
    return {
        "handler": "reverse_proxy",
        "@id": SLOTS_HANDLER_ID,
        "upstreams": [{"dial": f"{LOOPBACK}:{settings.slot_port(slot)}"} for slot in SLOTS],
        "load_balancing": {"selection_policy": {"policy": "weighted_round_robin", "weights": list(weights)}},
        # Passive health: a failed connection takes an upstream out for 5 s. Status codes do not count:
        # a slot answering 503 for one unhealthy component must still get traffic.
        "health_checks": {"passive": {"fail_duration": "5s", "max_fails": 1}},
        # Idle upstream connections close well before the slots' keep-alive (uvicorn, 75 s) does: a
        # request never lands on a connection the slot is closing (a 502, then 5 s of passive-health 503s).
        "transport": {"protocol": "http", "keep_alive": {"idle_timeout": "30s"}},
        # Names the upstream that served a response, for slots that do not set X-Slot themselves.
        "headers": {"response": {"set": {"X-Upstream": ["{http.reverse_proxy.upstream.hostport}"]}}},
    }
