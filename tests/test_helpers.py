"""The suite's own service processes die with the test run.

A pytest killed by SIGKILL (a CI timeout, an impatient developer) runs no fixture teardown; a
till or server it started must not live on holding its port and data directory. Each case here
runs a small stand-in for pytest that starts one service the way the fixtures do, kills that
stand-in with SIGKILL and waits for every process below it (the demo's own children too) to go.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

# What the stand-in for pytest starts, given ``data`` (a fresh directory path) and ``Path``.
SERVICES = {
    "LiveTill": "from tests.conftest import LiveTill\nLiveTill(data, items=5).start()",
    "ServerProcess": "from tests.server.conftest import ServerProcess\nServerProcess(data).start()",
    "TillProcess": "from tests.server.conftest import TillProcess\nTillProcess(data).start()",
    "LivePrintd": "from tests.printd.live import LivePrintd\nLivePrintd(data).configure().start()",
    "EmulatorProcess": "from tests.printd.conftest import EmulatorProcess\n"
                       "data.mkdir()\nEmulatorProcess('shtrih', data / 'shtrih.json')",
}

STAND_IN = """\
import sys, time
from pathlib import Path
data = Path(sys.argv[1])
{start}
print("started", flush=True)
time.sleep(600)
"""


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state, parent pid, start time) of a process from /proc, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), fields[19]


def descendants(root: int) -> dict[int, str]:
    """pid → start time of every living process below ``root`` (start time tells a reused pid apart)."""
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) and stat[0] != "Z":
            parents.setdefault(stat[1], []).append((int(entry.name), stat[2]))
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for pid, started in parents.get(todo.pop(), []):
            found[pid] = started
            todo.append(pid)
    return found


def alive(processes: dict[int, str]) -> list[int]:
    """Those of ``processes`` still running (a zombie waiting for its reaper is dead)."""
    return [pid for pid, started in processes.items()
            if (stat := _stat(pid)) is not None and stat[0] != "Z" and stat[2] == started]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
@pytest.mark.parametrize("service", SERVICES)
def test_a_killed_test_run_leaves_no_service_process_behind(service: str, tmp_path: Path) -> None:
    runner = subprocess.Popen([sys.executable, "-c", STAND_IN.format(start=SERVICES[service]), str(tmp_path / "data")],
                              stdout=subprocess.PIPE, text=True, cwd=REPO)
    children: dict[int, str] = {}
    try:
        assert runner.stdout is not None
        assert runner.stdout.readline().strip() == "started", f"{service} did not start: see the logs in {tmp_path}"
        children = descendants(runner.pid)
        assert children, f"{service} started no process"
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
        deadline = time.monotonic() + 10
        while alive(children) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = alive(children)
        assert not survivors, f"{service}: processes {survivors} outlived the killed test run"
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait(10)
        for pid in alive(children):  # only what this test started, by pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if runner.stdout is not None:
            runner.stdout.close()
