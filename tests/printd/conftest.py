"""Device emulators as real processes (``icecash emulator NAME --pty/--tcp --control --state``).

:class:`EmulatorProcess` starts one, reads the pty path / TCP address and the control port from
its first stdout lines, talks to the control port, and can kill (SIGKILL, a power cut of the
process) and restart it on the same state file. An emulator dies with the test run
(PR_SET_PDEATHSIG, like the services of tests/helpers.py), even one killed by SIGKILL.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from icecash.supervise import die_with_parent  # as the demo's children: no orphan if pytest is killed

ICECASH = str(Path(sys.executable).parent / "icecash")


class EmulatorProcess:
    """One emulator subprocess; ``device`` is the pty path (pty mode) or ``host:port`` (TCP mode)."""

    def __init__(self, name: str, state: Path, *, tcp: bool = False, extra: list[str] | None = None):
        self.name, self.state, self.tcp, self.extra = name, state, tcp, extra or []
        self.proc: subprocess.Popen[str] | None = None
        self.device = ""
        self.control_addr: tuple[str, int] | None = None
        self._control: socket.socket | None = None
        self._control_file = None
        self.start()

    @property
    def url(self) -> str:
        return f"tcp://{self.device}" if self.tcp else f"serial:{self.device}?baudrate=115200"

    def start(self) -> None:
        link = ["--tcp", "127.0.0.1:0"] if self.tcp else ["--pty"]
        cmd = [ICECASH, "emulator", self.name, *link, "--control", "127.0.0.1:0", "--state", str(self.state),
               *self.extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True, preexec_fn=die_with_parent)
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline().strip()
        if not first:
            err = self.proc.stderr.read() if self.proc.stderr else ""
            raise RuntimeError(f"emulator did not start: {err}")
        self.device = first.split()[1] if self.tcp else first
        control = self.proc.stdout.readline().split()[1]
        host, port = control.rsplit(":", 1)
        self.control_addr = (host, int(port))
        self._control = None

    def control(self, command: str) -> str:
        """One control command, its one-line reply."""
        if self._control is None:
            assert self.control_addr
            self._control = socket.create_connection(self.control_addr, timeout=5)
            self._control_file = self._control.makefile("rw", encoding="utf-8", newline="\n")
        assert self._control_file is not None
        self._control_file.write(command + "\n")
        self._control_file.flush()
        return self._control_file.readline().rstrip("\n")

    def state_json(self) -> dict:
        return json.loads(self.control("state"))

    def paper(self) -> list[str]:
        return json.loads(self.control("paper"))

    def _close_control(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
            self._control_file = None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as a registrar losing power."""
        self._close_control()
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        self._close_control()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        for stream in (self.proc.stdout, self.proc.stderr) if self.proc else ():
            if stream:
                stream.close()


def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)


@pytest.fixture(scope="module")
def _shtrih_shared(tmp_path_factory) -> Iterator[EmulatorProcess]:
    proc = EmulatorProcess("shtrih", tmp_path_factory.mktemp("shtrih") / "shtrih.json")
    yield proc
    proc.stop()


@pytest.fixture
def shtrih_proc(_shtrih_shared: EmulatorProcess) -> EmulatorProcess:
    """A Shtrih-M emulator process on a real pty, factory-fresh for each test (one process per module;
    a test may kill or restart it, the next test gets it running and reset)."""
    proc = _shtrih_shared
    if proc.proc is None or proc.proc.poll() is not None:
        proc.start()
    assert proc.control("factory-reset") == "ok"
    return proc


@pytest.fixture
def shtrih(shtrih_proc: EmulatorProcess):
    """Our driver connected to :func:`shtrih_proc` with short timeouts (tests wait little)."""
    from icecash.printd.drivers.shtrih import ShtrihM

    device = ShtrihM.open(shtrih_proc.url, byte_timeout=0.2, answer_timeout=2.0, retries=2)
    yield device
    device.close()
