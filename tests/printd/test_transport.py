"""Transports opened from a device URL, over a real pty and a real TCP socket (the Shtrih-M emulator)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from icecash.printd.errors import DeviceError, TransportError, TransportTimeout
from icecash.printd.transports import (
    DEFAULT_TCP_PORT,
    FileTransport,
    SerialTransport,
    TcpTransport,
    open_driver,
    open_transport,
    parse_url,
)
from tests.printd.conftest import EmulatorProcess

ENQ, NAK = b"\x05", b"\x15"


@pytest.mark.parametrize("url, expected", [
    ("serial:/dev/ttyUSB0?baudrate=9600", ("serial", "/dev/ttyUSB0", {"baudrate": "9600"})),
    ("serial:///dev/ttyACM0", ("serial", "/dev/ttyACM0", {})),
    ("/dev/serial/by-id/usb-SHTRIH-M-if00", ("serial", "/dev/serial/by-id/usb-SHTRIH-M-if00", {})),
    ("tcp://192.168.1.50:9100", ("tcp", "192.168.1.50:9100", {})),
    ("usb://0483:5740?interface=0", ("usb", "0483:5740", {"interface": "0"})),
    ("file:/dev/usb/lp0", ("file", "/dev/usb/lp0", {})),
])
def test_urls_are_understood(url, expected):
    assert parse_url(url) == expected


@pytest.mark.parametrize("url, fragment", [
    ("", "empty"),
    ("lpt:/dev/lp0", "supported"),
    ("serial:/dev/ttyS0?speed=9600", "unknown options: speed"),
    ("serial:/dev/ttyS0?baudrate=fast", "not a number"),
    ("serial:/dev/ttyS0?parity=X", "parity"),
    ("tcp://printer:notaport", "host:port"),
    ("usb://zz:01", "VID:PID"),
    ("tcp://", "no address"),
])
def test_bad_urls_are_refused_by_name(url, fragment):
    with pytest.raises(TransportError) as caught:
        open_transport(url)
    err = caught.value
    assert isinstance(err, DeviceError) and err.code == "bad_device_url" and err.field == "url"
    assert fragment in err.message_en and err.message_ru.startswith("Неверный адрес устройства")


def test_missing_devices_fail_to_open_with_a_message(tmp_path: Path):
    for url in (f"serial:{tmp_path}/ttyUSB9", f"file:{tmp_path}/lp9", "tcp://127.0.0.1:1"):
        with pytest.raises(TransportError) as caught:
            open_transport(url, timeout=0.5)
        assert caught.value.code == "device_open_failed", url
        assert "Не удалось открыть" in caught.value.message_ru and "Cannot open" in caught.value.message_en


def test_usb_without_such_a_device_is_a_named_error():
    with pytest.raises(TransportError) as caught:
        open_transport("usb://dead:beef")
    assert caught.value.code in ("device_not_found", "device_open_failed")


def test_tcp_default_port_is_9100():
    assert DEFAULT_TCP_PORT == 9100
    with pytest.raises(TransportError) as caught:
        open_transport("tcp://127.0.0.1", timeout=0.5)
    assert ":9100" in caught.value.message_en


def _exercise(t, url_prefix: str) -> None:
    assert t.url.startswith(url_prefix)
    t.write(ENQ)
    assert t.read(10, timeout=2) == NAK
    started = time.monotonic()
    assert t.read(10, timeout=0.2) == b""  # nothing more: empty after the timeout
    assert 0.15 <= time.monotonic() - started < 1.5
    t.write(ENQ + ENQ)
    with pytest.raises(TransportTimeout) as caught:
        t.read_exact(3, timeout=0.5)
    assert caught.value.partial == NAK + NAK and caught.value.code == "device_timeout"
    assert "не ответило" in caught.value.message_ru
    t.write(ENQ)
    time.sleep(0.1)
    t.reset_input()
    assert t.read(1, timeout=0.1) == b""


def test_serial_transport_over_a_pty(shtrih_proc: EmulatorProcess):
    with open_transport(shtrih_proc.url) as t:
        assert isinstance(t, SerialTransport) and t.baudrate == 115200
        _exercise(t, "serial:/dev/pts/")
        with pytest.raises(TransportError) as caught:  # the port is locked while we hold it
            open_transport(shtrih_proc.url)
        assert caught.value.code == "device_open_failed"
    assert t.closed
    with pytest.raises(TransportError) as caught:
        t.write(ENQ)
    assert caught.value.code == "transport_closed"


def test_a_driver_that_fails_to_start_does_not_keep_the_port(shtrih_proc: EmulatorProcess):
    from icecash.core.errors import InvalidInput
    from icecash.printd.drivers.atol import AtolRegistrar

    opened: list = []

    def refuse(transport):
        opened.append(transport)
        return AtolRegistrar(transport, password=10_000)  # refused after its port was opened (and locked)

    with pytest.raises(InvalidInput) as caught:
        open_driver(shtrih_proc.url, refuse)
    assert caught.value.field == "password"
    assert opened and opened[0].closed  # closed at once, not left to the garbage collector
    with open_transport(shtrih_proc.url) as t:
        assert isinstance(t, SerialTransport)
    with pytest.raises(InvalidInput):  # the drivers open through it
        AtolRegistrar.open(shtrih_proc.url, password=10_000)


def test_file_transport_over_a_pty(shtrih_proc: EmulatorProcess):
    with open_transport(f"file:{shtrih_proc.device}") as t:
        assert isinstance(t, FileTransport)
        _exercise(t, "file:/dev/pts/")


def test_tcp_transport_and_a_device_that_drops_the_line(tmp_path: Path):
    proc = EmulatorProcess("shtrih", tmp_path / "tcp.json", tcp=True)
    try:
        with open_transport(proc.url) as t:
            assert isinstance(t, TcpTransport)
            _exercise(t, "tcp://127.0.0.1:")
            proc.control("power-loss")  # a switched-off device drops its TCP clients
            with pytest.raises(TransportError) as caught:
                for _ in range(20):
                    t.write(ENQ)
                    t.read(1, timeout=0.2)
            assert caught.value.code in ("device_disconnected", "device_io_failed")
        with pytest.raises(TransportError):  # and refuses new ones until power comes back
            with open_transport(proc.url) as t:
                t.write(ENQ)
                t.read_exact(1, timeout=0.5)
        proc.control("power-on")
        with open_transport(proc.url) as t:
            t.write(ENQ)
            assert t.read_exact(1, timeout=2) == NAK
    finally:
        proc.stop()


def test_pty_link_symlink_is_stable_across_restarts(tmp_path: Path):
    link = tmp_path / "ttyFR"
    proc = EmulatorProcess("shtrih", tmp_path / "s.json", extra=["--link", str(link)])
    try:
        assert os.readlink(link) == proc.device
        with open_transport(f"serial:{link}") as t:
            t.write(ENQ)
            assert t.read_exact(1, timeout=2) == NAK
        proc.restart()
        assert os.readlink(link) == proc.device
    finally:
        proc.stop()
    assert not link.exists()


def test_the_shtrih_driver_over_tcp(tmp_path: Path):
    """Network registrars (and serial-to-Ethernet boxes) speak the same frames over raw TCP."""
    from icecash.core.vat import VatRate
    from icecash.printd.drivers.shtrih import ShtrihM

    proc = EmulatorProcess("shtrih", tmp_path / "net.json", tcp=True)
    try:
        with ShtrihM.open(proc.url, byte_timeout=0.2, answer_timeout=2) as device:
            device.open_shift()
            device.open_receipt("sale")
            device.register_item("Вода", 5000, 3000, vat=VatRate.VAT22)
            assert device.close_receipt(card=15000).fd_number == device.last_document_number()
        assert proc.state_json()["totals"]["payments"]["sale"][1] == 15000
    finally:
        proc.stop()
