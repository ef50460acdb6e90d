"""A real ``icecash printd`` process on a free port, configured through its own CLI (admin password,
a client token, printers), for the print service's and the till's printing tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO, free_port

ADMIN_PASSWORD = "printd-admin-1"


def cli(*args: str, data: Path) -> str:
    """Run ``icecash printd … --data DATA``; its stdout (fails the test on a non-zero exit)."""
    done = subprocess.run([sys.executable, "-m", "icecash.cli", "printd", *args, "--data", str(data)],
                          capture_output=True, text=True, cwd=REPO, timeout=60, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


class LivePrintd:
    def __init__(self, data: Path):
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data.parent / f"printd-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.token = ""
        self.admin: dict[str, str] = {}

    def configure(self) -> LivePrintd:
        cli("admin-password", "--password", ADMIN_PASSWORD, data=self.data)
        self.token = cli("token", "add", "till-1", data=self.data).strip()
        return self

    def start(self) -> LivePrintd:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "icecash.cli", "printd", "--data", str(self.data), "--port", str(self.port)],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, env=env, cwd=REPO,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"printd exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"printd did not start: {self.log.read_text()[-2000:]}")
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

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
