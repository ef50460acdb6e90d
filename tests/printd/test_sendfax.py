"""``icecash sendfax HOST PORT PRINTER [STYLES]``: standard input to a printer, styles as the original _sendFAX."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime

import pytest

from icecash.printd.cli import sendfax_commands
from tests.conftest import REPO
from tests.printd.conftest import EmulatorProcess
from tests.printd.live import LivePrintd


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("sendfax")
    escpos = EmulatorProcess("escpos", base / "escpos.json", extra=["--out", str(base / "roll")])
    printd = LivePrintd(base / "printd").configure().start()
    printd.add_printer("esc", type="escpos", url=escpos.url, timeout_ms=700)
    try:
        yield {"printd": printd, "escpos": escpos, "roll": base / "roll"}
    finally:
        printd.stop()
        escpos.stop()


def sendfax(rig, text: str, *args: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "ICECASH_PRINTD_TOKEN": rig["printd"].token if token is None else token}
    return subprocess.run([sys.executable, "-m", "icecash.cli", "sendfax", "127.0.0.1", str(rig["printd"].port), *args],
                          input=text, capture_output=True, text=True, env=env, cwd=REPO, timeout=60, check=False)


def test_stdin_is_printed_with_styles_a_header_a_cut_and_a_beep(rig) -> None:
    before = rig["escpos"].state_json()["counters"]
    done = sendfax(rig, "Привет из sendfax\nвторая строка\n", "esc", "bw+-*")
    assert done.returncode == 0, done.stderr
    after = rig["escpos"].state_json()["counters"]
    assert after["cuts"] == before["cuts"] + 1 and after["beeps"] == before["beeps"] + 1
    text = (rig["roll"] / "paper.txt").read_text(encoding="utf-8")
    assert "Привет из sendfax" in text and "вторая строка" in text
    assert datetime.now().strftime("%d.%m.%Y") in text  # the + header


def test_bad_styles_unknown_printer_and_bad_token_fail_clearly(rig) -> None:
    done = sendfax(rig, "x", "esc", "bz")
    assert done.returncode == 2 and "unknown styles" in done.stderr
    done = sendfax(rig, "x", "nowhere")
    assert done.returncode != 0 and "unknown_printer" in done.stderr
    done = sendfax(rig, "x", "esc", token="not-a-token")
    assert done.returncode != 0 and "unauthenticated" in done.stderr
    done = sendfax(rig, "x", "esc", token="")
    assert done.returncode == 2 and "token" in done.stderr


def test_style_letters_map_to_commands() -> None:
    at = datetime(2026, 11, 21, 10, 30, 0)
    assert sendfax_commands("a\tb\x07\n", "ihf", at) == [
        {"op": "text", "text": "a b", "bold": False, "inverse": True, "tall": True, "wide": False, "small": True}]
    commands = sendfax_commands("x", "*+-", at)
    assert [c["op"] for c in commands] == ["beep", "text", "text", "cut"]
    assert commands[1]["text"] == "21.11.2026 10:30:00"
    with pytest.raises(ValueError):
        sendfax_commands("x", "q")
