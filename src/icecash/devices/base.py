"""Serving a device emulator over a real pseudo-terminal or a TCP port, with a control channel.

An emulator is any object with

* ``feed(data: bytes) -> bytes``: bytes from the host in, bytes for the host out (maybe empty);
  it keeps partial frames itself;
* ``control(command: str) -> str``: one control line in (``paper-out``, ``state`` …), one reply
  line out (no newlines in it);
* optionally ``powered: bool``: while it is False the device is "switched off": TCP clients are
  disconnected and refused, bytes arriving on the pty are read and dropped.

:func:`serve` runs one emulator until ``shutdown`` on the control channel, SIGTERM or SIGINT:

* ``pty=True``: opens a pseudo-terminal, prints the slave path as the FIRST stdout line (flushed);
  ``link=PATH`` also makes a symlink PATH → slave so a restarted emulator keeps one stable path;
* ``tcp="HOST:PORT"``: listens there (port 0 picks a free one) and prints ``tcp HOST:PORT``;
* ``control="HOST:PORT"``: a line protocol (UTF-8, one command per line, one reply line each),
  prints ``control HOST:PORT``. Built in: ``ping`` → ``pong``, ``help``, ``shutdown``; every other
  line goes to ``emulator.control``. A failing command answers ``error: …``.

State files are written with :func:`write_state` (JSON, temp file + rename) so a killed
emulator restarted on the same ``--state`` keeps its fiscal memory.
"""

from __future__ import annotations

import errno
import json
import os
import selectors
import signal
import socket
import sys
import tempfile
import traceback
import tty
from pathlib import Path
from typing import Any, Protocol

__all__ = ["Emulator", "parse_hostport", "read_state", "serve", "write_state"]


class Emulator(Protocol):
    def feed(self, data: bytes) -> bytes: ...

    def control(self, command: str) -> str: ...


def write_state(path: Path, state: dict[str, Any], *, fsync: bool = False) -> None:
    """Write ``state`` as JSON atomically (temp file + rename): a killed emulator leaves the old file
    or the new one, never half of one. ``fsync=True`` also survives a crash of the machine itself,
    at a few milliseconds per write; an emulated power cut (the process killed) does not need it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(state, ensure_ascii=False, sort_keys=True).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if fsync:  # the rename itself must reach the disk too
        try:
            dir_fd = os.open(str(path.parent), os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass


def read_state(path: Path | None) -> dict[str, Any] | None:
    """The state saved at ``path``, or None when there is none yet."""
    if path is None:
        return None
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the emulator state must be a JSON object")
    return data


def parse_hostport(text: str, what: str = "address") -> tuple[str, int]:
    """'127.0.0.1:9100' → ('127.0.0.1', 9100); ':0' binds 127.0.0.1 on a free port."""
    host, sep, port = (text or "").rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{what}: expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class _Conn:
    """One byte stream the emulator talks over, with an outgoing buffer (never blocks the loop)."""

    def __init__(self, fd_or_sock: Any, kind: str):
        self.io = fd_or_sock
        self.kind = kind  # "pty" | "tcp" | "control"
        self.out = bytearray()
        self.inbuf = bytearray()

    def fileno(self) -> int:
        return self.io if isinstance(self.io, int) else self.io.fileno()

    def recv(self) -> bytes:
        if isinstance(self.io, int):
            return os.read(self.io, 65536)
        return self.io.recv(65536)

    def send(self, data: bytes) -> int:
        if isinstance(self.io, int):
            return os.write(self.io, data)
        return self.io.send(data)

    def close(self) -> None:
        if isinstance(self.io, int):
            os.close(self.io)
        else:
            self.io.close()


class _Server:
    def __init__(self, emulator: Emulator):
        self.emulator = emulator
        self.sel = selectors.DefaultSelector()
        self.running = True
        self.device_conns: list[_Conn] = []

    def _watch(self, conn: _Conn) -> None:
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.out else 0)
        try:
            self.sel.modify(conn.fileno(), events, conn)
        except KeyError:
            self.sel.register(conn.fileno(), events, conn)

    def _drop(self, conn: _Conn) -> None:
        try:
            self.sel.unregister(conn.fileno())
        except (KeyError, ValueError):
            pass
        if conn in self.device_conns:
            self.device_conns.remove(conn)
        if conn.kind != "pty":
            conn.close()

    def _queue(self, conn: _Conn, data: bytes) -> None:
        if data:
            conn.out += data
            self._flush(conn)

    def _flush(self, conn: _Conn) -> None:
        while conn.out:
            try:
                sent = conn.send(bytes(conn.out))
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    break
                if conn.kind == "pty":  # nobody has the slave open (and our own copy is held): drop it
                    conn.out.clear()
                    break
                self._drop(conn)
                return
            del conn.out[:sent]
        self._watch(conn)

    def _powered(self) -> bool:
        return bool(getattr(self.emulator, "powered", True))

    def _after_event(self) -> None:
        """A switched-off device drops its TCP clients."""
        if not self._powered():
            for conn in [c for c in self.device_conns if c.kind == "tcp"]:
                self._drop(conn)

    def on_device_data(self, conn: _Conn, data: bytes) -> None:
        if not self._powered():
            return  # the host talks to a dead device
        try:
            reply = self.emulator.feed(data)
        except Exception:  # noqa: BLE001 - an emulator bug is reported loudly but the device stays up
            traceback.print_exc(file=sys.stderr)
            return
        if reply and self._powered():
            self._queue(conn, reply)

    def on_control_line(self, conn: _Conn, line: str) -> None:
        command = line.strip()
        if not command:
            return
        if command == "ping":
            reply = "pong"
        elif command == "help":
            reply = "built-in: ping help shutdown; device: " + self._device_help()
        elif command == "shutdown":
            reply = "ok"
            self.running = False
        else:
            try:
                reply = self.emulator.control(command)
            except Exception as exc:  # noqa: BLE001 - a bad control line answers an error, the device lives on
                reply = f"error: {exc}"
        reply = " ".join(str(reply).splitlines())
        self._queue(conn, reply.encode("utf-8") + b"\n")

    def _device_help(self) -> str:
        try:
            return " ".join(self.emulator.control("help").splitlines())
        except Exception:  # noqa: BLE001 - help is best effort
            return "(none)"


class _Stop(Exception):
    """SIGTERM/SIGINT: end the serve loop."""


def _set_nonblocking(fd: int) -> None:
    os.set_blocking(fd, False)


def serve(emulator: Emulator, *, pty: bool = False, tcp: str | None = None, control: str | None = None,
          link: str | Path | None = None, out: Any = None) -> None:
    """Serve ``emulator`` on a pty and/or a TCP port (with an optional control port) until shut down."""
    if not pty and not tcp:
        raise ValueError("choose --pty or --tcp HOST:PORT (or both)")
    out = out or sys.stdout
    server = _Server(emulator)
    listeners: dict[int, tuple[socket.socket, str]] = {}
    lines: list[str] = []
    slave_fd = None
    link_path = Path(link) if link else None

    if pty:
        master_fd, slave_fd = os.openpty()
        tty.setraw(master_fd)
        tty.setraw(slave_fd)  # no echo, no line discipline: a serial line carries raw bytes
        _set_nonblocking(master_fd)
        slave_name = os.ttyname(slave_fd)
        conn = _Conn(master_fd, "pty")
        server.device_conns.append(conn)
        server._watch(conn)
        lines.append(slave_name)
        if link_path:
            tmp_link = link_path.with_name(f".{link_path.name}.{os.getpid()}")
            try:
                tmp_link.unlink()
            except FileNotFoundError:
                pass
            os.symlink(slave_name, tmp_link)
            os.replace(tmp_link, link_path)

    def listen(spec: str, kind: str) -> None:
        host, port = parse_hostport(spec, f"--{kind}")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(8)
        sock.setblocking(False)
        listeners[sock.fileno()] = (sock, kind)
        server.sel.register(sock.fileno(), selectors.EVENT_READ, None)
        bound = sock.getsockname()
        lines.append(f"{kind} {bound[0]}:{bound[1]}")

    if tcp:
        listen(tcp, "tcp")
    if control:
        listen(control, "control")

    for line in lines:
        out.write(line + "\n")
    out.flush()

    def stop(_signum: int, _frame: Any) -> None:
        server.running = False
        raise _Stop  # leave select() at once instead of after its timeout

    old_handlers = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        try:
            while server.running:
                for key, events in server.sel.select(timeout=0.5):
                    if key.data is None:  # a listening socket
                        sock, kind = listeners[key.fd]
                        try:
                            client, _addr = sock.accept()
                        except (BlockingIOError, InterruptedError):
                            continue
                        if kind == "tcp" and not server._powered():
                            client.close()  # the device is off: nothing answers
                            continue
                        client.setblocking(False)
                        if kind == "tcp":
                            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        conn = _Conn(client, kind)
                        if kind == "tcp":
                            server.device_conns.append(conn)
                        server._watch(conn)
                        continue
                    conn = key.data
                    if events & selectors.EVENT_WRITE:
                        server._flush(conn)
                    if not events & selectors.EVENT_READ:
                        continue
                    try:
                        data = conn.recv()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError as exc:
                        if conn.kind == "pty" and exc.errno == errno.EIO:
                            continue  # cannot happen while we hold the slave, kept for safety
                        server._drop(conn)
                        continue
                    if not data:
                        server._drop(conn)
                        continue
                    if conn.kind == "control":
                        conn.inbuf += data
                        while b"\n" in conn.inbuf:
                            raw, _, rest = bytes(conn.inbuf).partition(b"\n")
                            conn.inbuf = bytearray(rest)
                            server.on_control_line(conn, raw.decode("utf-8", "replace"))
                    else:
                        server.on_device_data(conn, data)
                    server._after_event()
        except _Stop:
            pass
    finally:
        for s, handler in old_handlers.items():
            signal.signal(s, handler)
        for conn in list(server.device_conns):
            server._drop(conn)
        for sock, _kind in listeners.values():
            sock.close()
        if pty:
            for fd in (slave_fd,):
                try:
                    os.close(fd)
                except OSError:
                    pass
            try:
                os.close(master_fd)
            except OSError:
                pass
            if link_path and link_path.is_symlink():
                try:
                    if os.readlink(link_path) == slave_name:
                        link_path.unlink()
                except OSError:
                    pass
        closer = getattr(emulator, "close", None)
        if callable(closer):
            closer()
