"""Child processes of `icecash demo`: started in order, waited for, and never outliving the demo.

The demo is the one process a user starts; every other service (central server, print service,
device emulators) runs as its child. Children are asked to die with their parent (Linux
PR_SET_PDEATHSIG), so a demo killed by SIGKILL or a power cut leaves no orphan holding a port.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux); a preexec_fn: runs between fork and exec."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the demo's own shutdown still stops children
        pass


class ChildFailed(RuntimeError):
    """A child did not start: the message says which and quotes the end of its log."""


@dataclass
class Child:
    """One service process of the demo, logging to its own file."""

    name: str
    argv: list[str]
    log_path: Path
    health_url: str | None = None
    ready_line: Callable[[str], bool] | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def start(self) -> "Child":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.process = subprocess.Popen(
            self.argv, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
        )
        return self

    def tail(self, chars: int = 1500) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 60.0) -> "Child":
        """Until the health URL answers 200 (or the log shows the ready line); a clear error if it dies."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ChildFailed(f"{self.name} exited with code {self.process.returncode}; log {self.log_path}:\n{self.tail()}")
            if self.health_url:
                try:
                    if httpx.get(self.health_url, timeout=1).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            elif self.ready_line and any(self.ready_line(line) for line in self.tail(20000).splitlines()):
                return self
            time.sleep(0.1)
        raise ChildFailed(f"{self.name} did not become ready in {timeout:.0f} s; log {self.log_path}:\n{self.tail()}")

    def stop(self, grace: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def stop_all(children: list[Child]) -> None:
    """Stop in reverse start order: the services first, the devices they talk to last."""
    for child in reversed(children):
        child.stop()
