"""``user-close`` / ``user-open``: suspend or lift a firm on the central server.

Run from a ``warn.cf`` line (``11 =warn-close.fm user-close``) or by the accounting when a
closed account's criterion turns false. They are built in: the accounting runs them in-process
(our own code, so no service-user switch is needed), unless the home's ``bin/`` holds an
executable of the same name, which then replaces them. By hand: ``python -m
icecash.billing.central close|open ACCOUNT`` or ``icecash billing user-close ACCOUNT``. They get the account as ``$1`` and ``ACCOUNT``,
``HOME`` (the account's directory), ``COUNT``, ``TOTAL`` (kopecks) and ``ICECASH_BILLING_HOME``
in the environment, read the central server's URL and token from ``billing.toml``
(``[central] url``, ``token``; or ``ICECASH_SERVER_URL``, ``ICECASH_BILLING_TOKEN``) and call:

    POST {url}/api/v1/billing/firms/{account}/suspend   {"reason": "...", "balance": TOTAL, "count": COUNT}
    POST {url}/api/v1/billing/firms/{account}/resume    {"reason": "...", "balance": TOTAL}
    Authorization: Bearer {token}

Both are idempotent on the server (suspending a suspended firm answers 200 again). On a 2xx
answer ``user-close`` writes ``HOME/.closed`` (the reason) and ``user-open`` removes it; any
other answer exits non-zero with the server's message, which the accounting writes to the
failure log, and the marker stays as it was.
"""

from __future__ import annotations

import os
import ssl
import sys
from functools import lru_cache
from pathlib import Path

import httpx

from icecash.billing.files import check_account, write_atomic
from icecash.billing.home import Settings

SUSPEND_PATH = "/api/v1/billing/firms/{account}/suspend"
RESUME_PATH = "/api/v1/billing/firms/{account}/resume"


@lru_cache(maxsize=1)
def _tls() -> ssl.SSLContext:
    """One verifying TLS context per process (building one reads the whole CA bundle)."""
    return ssl.create_default_context()


def call_central(action: str, account: str, settings: Settings, balance: int, count: int, timeout: float = 30) -> str:
    """POST the suspend/resume call; returns the server's answer text, raises RuntimeError otherwise."""
    path = (SUSPEND_PATH if action == "close" else RESUME_PATH).format(account=check_account(account))
    reason = ("Приостановлено: недостаточно средств на счёте / suspended: insufficient balance"
              if action == "close" else "Возобновлено: счёт пополнен / resumed: account paid")
    body = {"reason": reason, "balance": balance}
    if action == "close":
        body["count"] = count
    headers = {"Authorization": f"Bearer {settings.central_token}"} if settings.central_token else {}
    try:
        answer = httpx.post(settings.central_url.rstrip("/") + path, json=body, headers=headers, timeout=timeout,
                            verify=_tls())
    except httpx.HTTPError as exc:
        raise RuntimeError(f"central server {settings.central_url} unreachable: {exc}") from None
    if not 200 <= answer.status_code < 300:
        raise RuntimeError(f"central server answered {answer.status_code}: {answer.text[:300]}")
    return reason


def run_builtin(action: str, account: str, account_dir: Path, settings: Settings, balance: int, count: int) -> str:
    """``user-close``/``user-open`` in-process: call the server, then write or remove ``.closed``."""
    reason = call_central(action, account, settings, balance, count)
    marker = account_dir / ".closed"
    if action == "close":
        write_atomic(marker, reason + "\n")
    else:
        marker.unlink(missing_ok=True)
    return reason


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 1 or argv[0] not in ("close", "open"):
        print("usage: python -m icecash.billing.central close|open ACCOUNT", file=sys.stderr)
        return 2
    action = argv[0]
    account = argv[1] if len(argv) > 1 else os.environ.get("ACCOUNT", "")
    home = os.environ.get("ICECASH_BILLING_HOME")
    account_dir = Path(os.environ.get("HOME", "."))
    try:
        settings = Settings.load(Path(home) / "billing.toml") if home else Settings.load(Path("/nonexistent"))
        balance = int(os.environ.get("TOTAL", "0") or 0)
        count = int(os.environ.get("COUNT", "0") or 0)
        run_builtin(action, account, account_dir, settings, balance, count)
    except Exception as exc:  # noqa: BLE001 - a program's failure is its message and exit status
        print(f"user-{action} {account}: {getattr(exc, 'message_en', None) or exc}", file=sys.stderr)
        return 1
    print(f"user-{action} {account}: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
