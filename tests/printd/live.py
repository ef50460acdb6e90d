"""A real ``icecash printd`` process on a free port, configured through its own CLI (admin password,
a client token, printers), for the print service's and the till's printing tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.helpers import ServiceProcess

ADMIN_PASSWORD = "printd-admin-1"


def cli(*args: str, data: Path) -> str:
    """Run ``icecash printd … --data DATA``; its stdout (fails the test on a non-zero exit)."""
    done = subprocess.run([sys.executable, "-m", "icecash.cli", "printd", *args, "--data", str(data)],
                          capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


class LivePrintd(ServiceProcess):
    """``icecash printd`` on a free port; start() also logs in as its admin (``admin`` headers)."""

    def __init__(self, data: Path):
        super().__init__(data, "printd")
        self.token = ""
        self.admin: dict[str, str] = {}

    def arguments(self) -> list[str]:
        return ["printd", "--data", str(self.data), "--port", str(self.port)]

    def configure(self) -> LivePrintd:
        cli("admin-password", "--password", ADMIN_PASSWORD, data=self.data)
        self.token = cli("token", "add", "till-1", data=self.data).strip()
        return self

    def start(self) -> LivePrintd:
        super().start()
        answer = httpx.post(f"{self.url}/api/v1/auth/login", json={"password": ADMIN_PASSWORD}, timeout=10)
        assert answer.status_code == 200, answer.text
        self.admin = {"Authorization": f"Bearer {answer.json()['token']}"}
        return self

    @property
    def client_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def add_printer(self, name: str, **values) -> dict:
        answer = httpx.put(f"{self.url}/api/v1/printers/{name}", json=values, headers=self.admin, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def get(self, path: str, admin: bool = False, **kw) -> httpx.Response:
        return httpx.get(f"{self.url}/api/v1{path}", headers=self.admin if admin else self.client_headers, timeout=60, **kw)

    def post(self, path: str, json=None, admin: bool = False, **kw) -> httpx.Response:
        return httpx.post(f"{self.url}/api/v1{path}", json=json, headers=self.admin if admin else self.client_headers,
                          timeout=60, **kw)
