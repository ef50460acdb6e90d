"""What the tests share: the demo's barcodes, answer checks, cheap password hashing, service processes."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Self

import argon2

from icecash.core.barcodes import make_ean13
from icecash.supervise import Child

API = "/api/v1"

# The demo catalogue (icecash.till.demo): fixed items the tests and docs rely on.
MILK = "4601234567893"  # 1001, 89.90, min 80.00, max 120.00, max discount 10 %, VAT 10
BREAD = make_ean13("460123400002")  # 1002, 54.90, min 45.00, max discount 20 %
CHEESE = make_ean13("460123400003")  # 1003, weighed, 650.00/kg, min 550.00
VODKA = make_ean13("460123400004")  # 1004, 499.00, min 379.00, alcohol, VAT 20
WATER = make_ean13("460123400005")  # 1005, multi-price: base 45.00
WATER_SIX = make_ean13("460123400105")  # coefficient 6.000 → 270.00
WATER_PROMO = make_ean13("460123400205")  # own price 39.00
CARD5 = "2220000000011"
CARD10 = "2220000000028"

# Argon2 at its default cost takes ~0.5 s a hash on this machine; tests hash many passwords.
FAST_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def scale(code: str, grams: int) -> str:
    """A scale barcode: prefix 21, item code in digits 3–7, grams in 8–12, EAN-13 check digit."""
    return make_ean13(f"21{int(code):05d}{grams:05d}")


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status: int, code: str, field: str | None) -> dict:
    """A 4xx JSON error with this code and field, in both languages."""
    assert response.status_code < 500, response.text
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert {"code", "field", "message", "message_en"} <= set(error), error
    assert error["message"] and error["message_en"]
    assert (error["code"], error["field"]) == (code, field), error
    return error


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at this moment (the system picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceProcess:
    """One ``icecash`` service as a real process on a free port: started and waited for until its
    /api/v1/health answers, stopped with SIGTERM, or killed with SIGKILL (a power cut).

    It runs as an :class:`icecash.supervise.Child`, the demo's own way to start a service: asked to
    die with its parent (PR_SET_PDEATHSIG), so a test run killed by SIGKILL or a CI timeout, which
    runs no teardown, leaves no service holding its port and data directory. The signal follows
    the thread that started the process: start services from the test's own thread.
    Subclasses say which service with :meth:`arguments`.
    """

    grace = 10.0  # seconds stop() waits after SIGTERM before it kills

    def __init__(self, data: Path, name: str, logs: Path | None = None):
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (logs or data.parent) / f"{name}-{self.port}.log"
        self.child = Child(name, [], self.log, health_url=f"{self.url}/api/v1/health")

    @property
    def process(self) -> subprocess.Popen | None:
        return self.child.process

    @process.setter  # for a subclass that starts its own process (tests/server/test_billing_live.py)
    def process(self, process: subprocess.Popen | None) -> None:
        self.child.process = process

    def arguments(self) -> list[str]:
        """What follows ``icecash`` on the command line."""
        raise NotImplementedError

    def start(self) -> Self:
        self.child.argv = [sys.executable, "-m", "icecash.cli", *self.arguments()]
        self.child.start().wait_ready()
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        self.child.stop(self.grace)


class TillService(ServiceProcess):
    """``icecash till --data DIR --port P``: the till as an operator starts it (no demo data).

    start() may be called again after kill() or stop(): the same port and data, a restart.
    """

    log_level = "info"

    def __init__(self, data: Path, name: str = "till", logs: Path | None = None):
        super().__init__(data, name, logs)

    def arguments(self) -> list[str]:
        return ["till", "--data", str(self.data), "--port", str(self.port), "--log-level", self.log_level]
