"""Byte links to devices, opened from one URL string.

=========================================  ==================================================
``serial:/dev/ttyUSB0?baudrate=115200``    pyserial; also ttyS*, ttyACM*, /dev/serial/by-id/*,
                                           a pseudo-terminal (an emulator's ``--pty`` path).
                                           Options: baudrate (115200), bytesize (8),
                                           parity (N/E/O), stopbits (1/2), rtscts, xonxoff,
                                           dsrdtr (0/1), exclusive (1: lock the port).
``/dev/ttyUSB0``                           the same as ``serial:/dev/ttyUSB0``
``tcp://host:port``                        a raw TCP socket; port 9100 when omitted
``usb://VID:PID``                          pyusb bulk endpoints (ESC/POS printers); hex ids;
                                           options: interface (0), out / in (endpoint addresses)
``file:/path``                             a device node opened read/write (e.g. /dev/usb/lp0)
=========================================  ==================================================

Every transport has the same small surface: ``write``, ``read`` (up to *size* bytes: waits for
the first byte up to the timeout, then returns what has arrived; ``b""`` on timeout),
``read_exact`` (exactly *size* bytes or :class:`TransportTimeout`), ``reset_input`` and ``close``.
Failures are :class:`TransportError` with Russian and English messages.
"""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from .errors import DeviceError, TransportError, TransportTimeout

__all__ = [
    "DeviceError",
    "FileTransport",
    "SerialTransport",
    "TcpTransport",
    "Transport",
    "TransportError",
    "TransportTimeout",
    "UsbTransport",
    "open_driver",
    "open_transport",
    "parse_url",
]

DEFAULT_TCP_PORT = 9100


class Transport:
    """A byte link to one device. Subclasses implement ``_write``, ``_read_some`` and ``_close``."""

    url: str = ""

    def __init__(self, timeout: float = 1.0):
        self.timeout = timeout
        self.closed = False
        self.bytes_written = 0  # for benchmarks: bytes on the wire ÷ line speed is the wire's limit
        self.bytes_read = 0

    # --- what subclasses provide -------------------------------------------------------------
    def _write(self, data: bytes) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read_some(self, size: int, timeout: float) -> bytes:  # pragma: no cover - abstract
        """Wait up to ``timeout`` for data, return 1..size bytes, or b'' on timeout."""
        raise NotImplementedError

    def _close(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- the public surface ------------------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise TransportError("transport_closed", f"Соединение с устройством {self.url} закрыто",
                                 f"The connection to {self.url} is closed", url=self.url)

    def write(self, data: bytes) -> None:
        """Send all of ``data``."""
        self._check_open()
        if data:
            self._write(bytes(data))
            self.bytes_written += len(data)

    def read(self, size: int, timeout: float | None = None) -> bytes:
        """Up to ``size`` bytes: waits for the first one up to ``timeout``; b'' if none came."""
        self._check_open()
        if size <= 0:
            return b""
        data = self._read_some(size, self.timeout if timeout is None else timeout)
        self.bytes_read += len(data)
        return data

    def read_exact(self, size: int, timeout: float | None = None) -> bytes:
        """Exactly ``size`` bytes within ``timeout`` seconds in all, else :class:`TransportTimeout`."""
        self._check_open()
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        buf = bytearray()
        while len(buf) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            buf += self._read_some(size - len(buf), left)
        self.bytes_read += len(buf)
        if len(buf) < size:
            raise TransportTimeout(
                "device_timeout",
                f"Устройство {self.url} не ответило за {limit:g} с (получено {len(buf)} из {size} байт)",
                f"The device at {self.url} did not answer within {limit:g} s ({len(buf)} of {size} bytes received)",
                partial=bytes(buf), url=self.url,
            )
        return bytes(buf)

    def reset_input(self) -> None:
        """Drop whatever the device sent that nobody has read yet."""
        self._check_open()
        while self._read_some(4096, 0):
            pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}{' closed' if self.closed else ''}>"


def _open_failed(url: str, exc: BaseException) -> TransportError:
    return TransportError("device_open_failed", f"Не удалось открыть устройство {url}: {exc}",
                          f"Cannot open the device {url}: {exc}", url=url)


def _io_failed(url: str, exc: BaseException) -> TransportError:
    return TransportError("device_io_failed", f"Ошибка обмена с устройством {url}: {exc}",
                          f"I/O error talking to {url}: {exc}", url=url)


def _closed_by_peer(url: str) -> TransportError:
    return TransportError("device_disconnected", f"Устройство {url} разорвало соединение",
                          f"The device at {url} closed the connection", url=url)


class SerialTransport(Transport):
    """A serial port (or a pseudo-terminal) through pyserial, 8 data bits, no parity by default."""

    def __init__(self, port: str, *, baudrate: int = 115200, bytesize: int = 8, parity: str = "N",
                 stopbits: int = 1, rtscts: bool = False, xonxoff: bool = False, dsrdtr: bool = False,
                 exclusive: bool = True, timeout: float = 1.0):
        super().__init__(timeout)
        import serial  # pyserial: imported here so the service starts without touching it

        self.url = f"serial:{port}?baudrate={baudrate}"
        self.port = port
        self.baudrate = baudrate
        try:
            self._serial = serial.Serial(
                port, baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits,
                rtscts=rtscts, xonxoff=xonxoff, dsrdtr=dsrdtr, timeout=0, write_timeout=max(timeout, 5.0),
                exclusive=exclusive,
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise _open_failed(self.url, exc) from exc
        self._serial_error = serial.SerialException

    def _write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
            self._serial.flush()
        except (self._serial_error, OSError) as exc:
            raise _io_failed(self.url, exc) from exc

    def _read_some(self, size: int, timeout: float) -> bytes:
        try:
            fd = self._serial.fileno()
            ready, _, _ = select.select([fd], [], [], max(timeout, 0))
            if not ready:
                return b""
            data = os.read(fd, size)
        except (self._serial_error, OSError) as exc:
            raise _io_failed(self.url, exc) from exc
        if not data:
            raise _closed_by_peer(self.url)
        return data

    def reset_input(self) -> None:
        self._check_open()
        try:
            self._serial.reset_input_buffer()
        except (self._serial_error, OSError) as exc:
            raise _io_failed(self.url, exc) from exc
        super().reset_input()

    def _close(self) -> None:
        try:
            self._serial.close()
        except (self._serial_error, OSError):  # closing a vanished port: nothing left to release
            pass


class TcpTransport(Transport):
    """A raw TCP connection (network printers on 9100, registrars behind a serial-to-Ethernet box)."""

    def __init__(self, host: str, port: int = DEFAULT_TCP_PORT, *, timeout: float = 1.0,
                 connect_timeout: float | None = None):
        super().__init__(timeout)
        self.url = f"tcp://{host}:{port}"
        self.host, self.port = host, port
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout or max(timeout, 3.0))
        except OSError as exc:
            raise _open_failed(self.url, exc) from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _write(self, data: bytes) -> None:
        try:
            self._sock.settimeout(max(self.timeout, 5.0))
            self._sock.sendall(data)
        except OSError as exc:
            raise _io_failed(self.url, exc) from exc

    def _read_some(self, size: int, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self._sock], [], [], max(timeout, 0))
            if not ready:
                return b""
            self._sock.settimeout(0.5)
            data = self._sock.recv(size)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise _io_failed(self.url, exc) from exc
        if not data:
            raise _closed_by_peer(self.url)
        return data

    def _close(self) -> None:
        try:
            self._sock.close()
        except OSError:  # already gone
            pass


class FileTransport(Transport):
    """A device node opened read/write (write-only when the node does not allow reading)."""

    def __init__(self, path: str, *, timeout: float = 1.0):
        super().__init__(timeout)
        self.url = f"file:{path}"
        self.path = path
        flags = os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
        try:
            try:
                self._fd = os.open(path, os.O_RDWR | flags)
                self._readable = True
            except PermissionError:
                self._fd = os.open(path, os.O_WRONLY | flags)
                self._readable = False
        except OSError as exc:
            raise _open_failed(self.url, exc) from exc

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            raise _io_failed(self.url, exc) from exc

    def _read_some(self, size: int, timeout: float) -> bytes:
        if not self._readable:
            raise TransportError("device_write_only", f"Устройство {self.url} открыто только для записи",
                                 f"The device {self.url} is write-only", url=self.url)
        try:
            ready, _, _ = select.select([self._fd], [], [], max(timeout, 0))
            if not ready:
                return b""
            data = os.read(self._fd, size)
        except OSError as exc:
            raise _io_failed(self.url, exc) from exc
        if not data:
            raise _closed_by_peer(self.url)
        return data

    def _close(self) -> None:
        try:
            os.close(self._fd)
        except OSError:
            pass


class UsbTransport(Transport):
    """USB bulk endpoints through pyusb (ESC/POS printers that are not a /dev/usb/lp node)."""

    def __init__(self, vendor_id: int, product_id: int, *, interface: int = 0, out_ep: int | None = None,
                 in_ep: int | None = None, timeout: float = 1.0):
        super().__init__(timeout)
        self.url = f"usb://{vendor_id:04x}:{product_id:04x}"
        try:
            import usb.core
            import usb.util
        except ImportError as exc:  # pragma: no cover - pyusb is a dependency
            raise _open_failed(self.url, exc) from exc
        self._usb_core = usb.core
        try:
            dev = usb.core.find(idVendor=vendor_id, idProduct=product_id)
        except (usb.core.USBError, usb.core.NoBackendError) as exc:
            raise _open_failed(self.url, exc) from exc
        if dev is None:
            raise TransportError("device_not_found", f"USB-устройство {self.url} не найдено",
                                 f"No USB device {self.url} is connected", url=self.url)
        try:
            try:
                if dev.is_kernel_driver_active(interface):
                    dev.detach_kernel_driver(interface)
            except (NotImplementedError, usb.core.USBError):
                pass  # not every backend or OS has kernel drivers to detach
            try:
                dev.set_configuration()
            except usb.core.USBError:
                pass  # already configured by the kernel: the active configuration is used
            intf = dev.get_active_configuration()[(interface, 0)]
            direction = usb.util.endpoint_direction

            def find(address: int | None, wanted: int) -> Any:
                return usb.util.find_descriptor(
                    intf, custom_match=lambda e: (e.bEndpointAddress == address) if address is not None
                    else direction(e.bEndpointAddress) == wanted)

            self._out = find(out_ep, usb.util.ENDPOINT_OUT)
            self._in = find(in_ep, usb.util.ENDPOINT_IN)
        except usb.core.USBError as exc:
            raise _open_failed(self.url, exc) from exc
        if self._out is None:
            raise TransportError("device_no_endpoint", f"У USB-устройства {self.url} нет выходной конечной точки",
                                 f"The USB device {self.url} has no bulk OUT endpoint", url=self.url)
        self._dev = dev

    def _write(self, data: bytes) -> None:
        try:
            self._out.write(data, timeout=int(max(self.timeout, 5.0) * 1000))
        except self._usb_core.USBError as exc:
            raise _io_failed(self.url, exc) from exc

    def _read_some(self, size: int, timeout: float) -> bytes:
        if self._in is None:
            raise TransportError("device_write_only", f"Устройство {self.url} не умеет отвечать (нет входной точки)",
                                 f"The device {self.url} cannot answer (no bulk IN endpoint)", url=self.url)
        try:
            return bytes(self._in.read(max(size, self._in.wMaxPacketSize), timeout=max(int(timeout * 1000), 1)))[:size]
        except self._usb_core.USBTimeoutError:
            return b""
        except self._usb_core.USBError as exc:
            raise _io_failed(self.url, exc) from exc

    def _close(self) -> None:
        try:
            import usb.util

            usb.util.dispose_resources(self._dev)
        except Exception:  # noqa: BLE001 - releasing a device that vanished must not mask the real error
            pass


def _bad_url(url: str, why_ru: str, why_en: str) -> TransportError:
    return TransportError("bad_device_url", f"Неверный адрес устройства {url!r}: {why_ru}",
                          f"Bad device URL {url!r}: {why_en}", field="url", url=url)


def _flag(url: str, options: dict[str, str], name: str, default: bool) -> bool:
    raw = options.get(name)
    if raw is None:
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise _bad_url(url, f"{name} должен быть 0 или 1", f"{name} must be 0 or 1")


def _int(url: str, options: dict[str, str], name: str, default: int | None, base: int = 10) -> int | None:
    raw = options.get(name)
    if raw is None:
        return default
    try:
        return int(raw, 0 if base == 0 else base)
    except ValueError:
        raise _bad_url(url, f"{name}={raw!r} — не число", f"{name}={raw!r} is not a number") from None


def parse_url(url: str) -> tuple[str, str, dict[str, str]]:
    """``(scheme, target, options)`` of a device URL; refuses what it does not know, by name."""
    text = (url or "").strip()
    if not text:
        raise _bad_url(url, "пустой адрес", "empty")
    if text.startswith("/"):
        text = "serial:" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    if scheme in ("serial", "file"):
        target = parts.path if not parts.netloc else f"/{parts.netloc}{parts.path}"
        if not target:
            raise _bad_url(url, "не указан путь устройства", "no device path")
        return scheme, target, options
    if scheme in ("tcp", "usb"):
        if not parts.netloc:
            raise _bad_url(url, "не указан адрес", "no address")
        return scheme, parts.netloc, options
    raise _bad_url(url, "поддерживаются serial:, tcp://, usb://, file:", "supported: serial:, tcp://, usb://, file:")


_Driver = TypeVar("_Driver")


def open_driver(url: str, build: Callable[[Transport], _Driver], *, timeout: float = 1.0) -> _Driver:
    """Open the link at ``url`` and build a driver on it. When the driver cannot start (a bad option, a
    line that fails at once), the link is closed again instead of holding the port until exit."""
    transport = open_transport(url, timeout=timeout)
    try:
        return build(transport)
    except BaseException:
        transport.close()
        raise


def open_transport(url: str, *, timeout: float = 1.0) -> Transport:
    """Open the link a device URL names (see the module docstring for the forms)."""
    scheme, target, options = parse_url(url)
    allowed = {
        "serial": {"baudrate", "bytesize", "parity", "stopbits", "rtscts", "xonxoff", "dsrdtr", "exclusive"},
        "tcp": set(),
        "usb": {"interface", "out", "in"},
        "file": set(),
    }[scheme]
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise _bad_url(url, f"неизвестные параметры: {', '.join(unknown)}", f"unknown options: {', '.join(unknown)}")
    if scheme == "serial":
        parity = options.get("parity", "N").upper()
        if parity not in ("N", "E", "O"):
            raise _bad_url(url, "parity должен быть N, E или O", "parity must be N, E or O")
        baudrate = _int(url, options, "baudrate", 115200)
        bytesize = _int(url, options, "bytesize", 8)
        stopbits = _int(url, options, "stopbits", 1)
        if baudrate is None or baudrate <= 0 or bytesize not in (5, 6, 7, 8) or stopbits not in (1, 2):
            raise _bad_url(url, "неверная скорость, число бит или стоп-бит", "bad baudrate, bytesize or stopbits")
        return SerialTransport(
            target, baudrate=baudrate, bytesize=bytesize, parity=parity, stopbits=stopbits,
            rtscts=_flag(url, options, "rtscts", False), xonxoff=_flag(url, options, "xonxoff", False),
            dsrdtr=_flag(url, options, "dsrdtr", False), exclusive=_flag(url, options, "exclusive", True),
            timeout=timeout,
        )
    if scheme == "tcp":
        host, sep, port_text = target.rpartition(":")
        if not sep:
            host, port_text = target, str(DEFAULT_TCP_PORT)
        host = host.strip("[]")
        if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _bad_url(url, "ожидается tcp://хост:порт", "expected tcp://host:port")
        return TcpTransport(host, int(port_text), timeout=timeout)
    if scheme == "usb":
        vid, sep, pid = target.partition(":")
        try:
            vendor, product = int(vid, 16), int(pid, 16)
        except ValueError:
            raise _bad_url(url, "ожидается usb://VID:PID (шестнадцатеричные)", "expected usb://VID:PID (hex)") from None
        if not sep or not (0 <= vendor <= 0xFFFF and 0 <= product <= 0xFFFF):
            raise _bad_url(url, "ожидается usb://VID:PID (шестнадцатеричные)", "expected usb://VID:PID (hex)")
        return UsbTransport(vendor, product, interface=_int(url, options, "interface", 0) or 0,
                            out_ep=_int(url, options, "out", None, 0), in_ep=_int(url, options, "in", None, 0),
                            timeout=timeout)
    return FileTransport(target, timeout=timeout)
