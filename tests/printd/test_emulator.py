"""The emulator framework (serve, control channel, state file, CLI) and the Shtrih-M emulator seen by a
client written straight from the published protocol, without our driver."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecash.devices.base import parse_hostport, read_state, write_state
from icecash.devices.shtrih import ShtrihEmulator, make_emulator
from icecash.printd.transports import open_transport
from tests.printd.conftest import ICECASH, EmulatorProcess


def _raw_command(t, frame_hex: str) -> bytes:
    """A host from the spec: ENQ → NAK, frame → ACK, answer frame → ACK back; returns CMD ERR DATA."""
    t.write(b"\x05")
    assert t.read_exact(1, timeout=2) == b"\x15"
    t.write(bytes.fromhex(frame_hex))
    assert t.read_exact(1, timeout=2) == b"\x06"
    stx, length = t.read_exact(2, timeout=2)
    assert stx == 0x02
    rest = t.read_exact(length + 1, timeout=2)
    check = length
    for b in rest[:-1]:
        check ^= b
    assert check == rest[-1]
    t.write(b"\x06")
    return rest[:-1]


def test_an_independent_client_from_the_spec(shtrih_proc: EmulatorProcess):
    with open_transport(shtrih_proc.url) as t:
        # 10h short status, password 30 (1E 00 00 00); LRC 05^10^1E = 0B
        answer = _raw_command(t, "02 05 10 1E 00 00 00 0B")
        assert answer[:3] == bytes([0x10, 0x00, 30]) and answer[5] == 0x04  # mode 4: shift closed
        # E0h open shift, password 30: LRC 05^E0^1E = FB
        assert _raw_command(t, "02 05 E0 1E 00 00 00 FB") == bytes([0xE0, 0x00, 30])
        # 50h cash in 100.00 (10000 kopecks = 10 27 00 00 00): LRC over 0A 50 1E 00 00 00 10 27 00 00 00
        body = bytes.fromhex("0A 50 1E 00 00 00 10 27 00 00 00")
        lrc = 0
        for b in body:
            lrc ^= b
        answer = _raw_command(t, (b"\x02" + body + bytes([lrc])).hex())
        assert answer[:3] == bytes([0x50, 0x00, 30]) and int.from_bytes(answer[3:5], "little") == 2
        # FCh device type has no password: LEN 1
        answer = _raw_command(t, "02 01 FC FD")
        assert answer[0] == 0xFC and answer[1] == 0 and answer[8:].decode("cp1251") == "ШТРИХ-М-01Ф"
    assert shtrih_proc.state_json()["cash"] == 10000


def test_control_channel(tmp_path: Path):
    shtrih_proc = EmulatorProcess("shtrih", tmp_path / "own.json")  # this test shuts it down
    assert shtrih_proc.control("ping") == "pong"
    assert "paper-out" in shtrih_proc.control("help")
    assert shtrih_proc.control("no-such-thing").startswith("error: unknown command")
    assert shtrih_proc.control("power-loss-at FF45").startswith("error: usage")
    assert shtrih_proc.control("paper-out") == "ok"
    state = shtrih_proc.state_json()
    assert state["paper"] is False and state["submode"] == 1 and state["mode"] == 4
    assert shtrih_proc.control("factory-reset") == "ok" and shtrih_proc.state_json()["paper"] is True
    assert shtrih_proc.control("shutdown") == "ok"
    assert shtrih_proc.proc.wait(5) == 0
    shtrih_proc.stop()


def test_state_survives_a_kill_and_stays_valid_json(shtrih_proc: EmulatorProcess):
    with open_transport(shtrih_proc.url) as t:
        _raw_command(t, "02 05 E0 1E 00 00 00 FB")
    shtrih_proc.kill()
    saved = json.loads(shtrih_proc.state.read_text(encoding="utf-8"))
    assert saved["shift_open"] is True and saved["shift_number"] == 1
    assert not list(shtrih_proc.state.parent.glob(".*.tmp"))  # no half-written temp files left
    shtrih_proc.start()
    assert shtrih_proc.state_json()["shift_open"] is True


def test_state_files_are_atomic_and_checked(tmp_path: Path):
    path = tmp_path / "sub" / "state.json"
    assert read_state(path) is None
    write_state(path, {"a": 1, "текст": "да"})
    assert read_state(path) == {"a": 1, "текст": "да"}
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError):
        read_state(path)


def test_hostport_parsing():
    assert parse_hostport("127.0.0.1:9100") == ("127.0.0.1", 9100)
    assert parse_hostport(":0") == ("127.0.0.1", 0)
    with pytest.raises(ValueError):
        parse_hostport("localhost")


def test_make_emulator_checks_its_options(tmp_path: Path):
    emulator = make_emulator(tmp_path / "s.json", serial="77", inn="7701234567", width="48")
    assert isinstance(emulator, ShtrihEmulator) and emulator.state["width"] == 48
    for bad in ({"serial": "12a"}, {"inn": "123"}, {"colour": "red"}):
        with pytest.raises(ValueError):
            make_emulator(None, **bad)


def test_partial_frames_time_out_like_a_device(tmp_path: Path, monkeypatch):
    import icecash.devices.shtrih as shtrih_module

    emulator = ShtrihEmulator(None)
    assert emulator.feed(bytes.fromhex("02 05 10")) == b""  # half a frame
    monkeypatch.setattr(shtrih_module, "FRAME_BYTE_TIMEOUT", 0.0)  # the rest is late: dropped
    reply = emulator.feed(bytes.fromhex("02 05 10 1E 00 00 00 0B"))
    assert reply[:1] == b"\x06" and reply[3] == 0x10


def test_cli_help_and_usage_errors(tmp_path: Path):
    out = subprocess.run([ICECASH, "emulator", "shtrih", "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "--pty" in out.stdout and "--control" in out.stdout and "--state" in out.stdout
    out = subprocess.run([ICECASH, "emulator", "shtrih"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--pty" in out.stderr
    out = subprocess.run([ICECASH, "emulator", "shtrih", "--pty", "--inn", "12"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2 and "INN" in out.stderr.upper()
    out = subprocess.run([ICECASH, "emulator", "shtrih", "--tcp", "nonsense"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2 and "HOST:PORT" in out.stderr


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=8))
def test_line_noise_never_kills_the_emulator(chunks):
    emulator = ShtrihEmulator(None)
    for chunk in chunks:
        reply = emulator.feed(chunk)
        assert isinstance(reply, bytes)
    emulator.rx.clear()  # whatever half frame the noise left behind
    reply = emulator.feed(bytes.fromhex("05"))
    assert reply[:1] in (b"\x15", b"\x06")  # it still answers ENQ
