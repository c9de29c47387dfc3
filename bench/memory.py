"""Peak resident memory of the sandbox while the bench runs: a slot process and the whole tree (psutil)."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import psutil

from sandbox.procs import orphans


class RssSampler:
    """Samples the sandbox's processes (those with HOME=<runtime>/home) in a background thread."""

    def __init__(self, runtime_dir: Path, interval_s: float = 0.5, rescan_s: float = 5.0) -> None:
        self.home = runtime_dir / "home"
        self.interval_s = interval_s
        self.rescan_s = rescan_s
        self.slot_peak = 0
        self.total_peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        processes: list[psutil.Process] = []
        scanned = 0.0
        while not self._stop.is_set():
            if time.monotonic() - scanned > self.rescan_s:
                processes, scanned = orphans(self.home), time.monotonic()
            total = 0
            for process in processes:
                with contextlib.suppress(psutil.Error):
                    rss = process.memory_info().rss
                    total += rss
                    if "support_service" in " ".join(process.cmdline()):
                        self.slot_peak = max(self.slot_peak, rss)
            if processes:
                self.total_peak = max(self.total_peak, total)
                self.samples += 1
            self._stop.wait(self.interval_s)

    def result(self) -> dict[str, float]:
        """Peaks in MiB."""
        return {
            "slot_peak_rss_mb": round(self.slot_peak / 2**20, 1),
            "sandbox_peak_rss_mb": round(self.total_peak / 2**20, 1),
            "samples": self.samples,
        }
