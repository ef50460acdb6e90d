"""Running the operator's programs: per-account ``daily``, service scripts, ``warn.cf`` programs.

Each runs with a time limit (its whole process group is killed when it is exceeded), a clean
environment (only ``PATH``, ``LANG`` and what the caller names), stdin from /dev/null, and never
as root: started as root, the accounting drops to the configured service user for the child, and
refuses when that user does not exist.
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
OUTPUT_LIMIT = 4000  # characters of a program's output kept for the failure log


class ProgramError(Exception):
    """A program that could not run, timed out or failed; the message is for the failure log."""


@dataclass(frozen=True)
class ProgramResult:
    returncode: int
    output: str


def _service_user(user: str) -> pwd.struct_passwd:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ProgramError(f"running as root and the service user {user!r} does not exist: refusing to run "
                           "programs as root (set [billing] user in billing.toml)") from None
    if entry.pw_uid == 0:
        raise ProgramError(f"the service user {user!r} is root: refusing to run programs as root")
    return entry


def run_program(program: Path, args: list[str], *, cwd: Path, env: dict[str, str], timeout: float,
                user: str, extra_path: Path | None = None) -> ProgramResult:
    """Run ``program args`` and return its result; raises :class:`ProgramError` on any failure."""
    clean = {"PATH": f"{extra_path}:{SAFE_PATH}" if extra_path else SAFE_PATH, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    clean.update({k: str(v) for k, v in env.items()})
    identity: dict = {}
    if os.geteuid() == 0:
        entry = _service_user(user)
        identity = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    try:
        process = subprocess.Popen(
            [str(program), *args], cwd=cwd, env=clean, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, **identity,
        )
    except OSError as exc:
        raise ProgramError(f"{program}: cannot start: {exc.strerror or exc}") from None
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate()
        raise ProgramError(f"{program}: killed after the time limit of {timeout:g} s") from None
    text = out.decode("utf-8", "replace")[-OUTPUT_LIMIT:]
    if process.returncode != 0:
        detail = " ".join(text.split())[-500:]
        raise ProgramError(f"{program}: exit status {process.returncode}" + (f": {detail}" if detail else ""))
    return ProgramResult(process.returncode, text)
