"""What both benchmarks share: a real till process, a raw SQLite baseline, data generation, output.

Not a test helper: nothing here asserts. The benchmarks print figures, ratios against a raw SQLite
baseline measured in the same run, and PASS/MISS against the issue's targets, and exit 0.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
TILL_DB = "till.sqlite3"  # icecash.till.app.DB_FILE

console = Console()
LOAD_BEFORE = os.getloadavg() if hasattr(os, "getloadavg") else None  # the host before this benchmark started


# --- data directory ------------------------------------------------------------------------------


@contextmanager
def data_dir(given: Path | None, keep: bool, prefix: str):
    """The bench's data directory: the one given (never deleted), or a temp dir removed unless --keep."""
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        console.print(f"[dim]data kept in {given}[/]")
        return
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            console.print(f"[dim]data kept in {path}[/]")
        else:
            shutil.rmtree(path, ignore_errors=True)


# --- a real till process -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TillProcess:
    """``python -m icecash.cli demo --data DIR --port P --items N`` as a child process (uvicorn inside)."""

    def __init__(self, data: Path, items: int, port: int | None = None):
        self.data = data
        self.items = items
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data / f"till-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.started_in = 0.0

    def start(self, timeout: float = 600) -> "TillProcess":
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        command = [sys.executable, "-m", "icecash.cli", "demo", "--data", str(self.data / "till"),
                   "--port", str(self.port), "--items", str(self.items),
                   "--server-port", "0", "--printd-port", "0"]  # fmt: skip  (the till alone is measured)
        began = time.perf_counter()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        deadline = time.monotonic() + timeout
        with console.status(f"starting the till ({self.items:,} demo items) on port {self.port}…"):
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the till exited with {self.process.returncode}:\n{self.tail()}")
                try:
                    if httpx.get(f"{self.url}/api/v1/health", timeout=1).status_code == 200:
                        self.started_in = time.perf_counter() - began
                        return self
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the till did not answer within {timeout:.0f} s:\n{self.tail()}")

    @property
    def db_path(self) -> Path:
        return self.data / "till" / TILL_DB

    def cpu_seconds(self) -> float:
        """User + system CPU the till process has used so far (Linux /proc; NaN elsewhere)."""
        return process_cpu(self.process.pid) if self.process else float("nan")

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def __enter__(self) -> "TillProcess":
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process, from /proc/PID/stat; NaN where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / _TICKS


def login(client: httpx.Client, user: str, password: str | None = None) -> None:
    """Log a keep-alive client in as a demo user (password = login); sets its bearer header.

    An API client, not a browser: it authenticates with the bearer token only, so the session
    cookie the login also sets is dropped (httpx's cookie jar costs the client ~0.1 ms a request).
    """
    answer = client.post("/api/v1/auth/login", json={"login": user, "password": password or user})
    answer.raise_for_status()
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"
    client.cookies.clear()


# --- raw SQLite baseline -------------------------------------------------------------------------


WAL_PREGROW_PAGES = 2000


def raw_connection(path: Path, pregrow_wal: bool = False) -> sqlite3.Connection:
    """A plain sqlite3 connection with the till's durability: WAL and synchronous=FULL, explicit BEGINs.

    ``pregrow_wal``: start with a WAL file already grown past the auto-checkpoint size, as a till's is
    after its catalogue import. Commits then overwrite WAL pages instead of growing the file, which on
    ext4 saves a metadata journal commit per fsync: without it the baseline would pay a cost the till
    does not, and look slower than it is.
    """
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    if pregrow_wal:
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE wal_pregrow (filler BLOB)")
        conn.executemany("INSERT INTO wal_pregrow VALUES (?)", [(bytes(4000),)] * WAL_PREGROW_PAGES)
        conn.execute("COMMIT")
        conn.execute("DROP TABLE wal_pregrow")
        conn.execute("PRAGMA wal_checkpoint(RESTART)")  # the next commit writes from the WAL's start
    return conn


def copy_schema(source: Path, target: sqlite3.Connection, tables: Iterable[str]) -> None:
    """Create ``tables`` (and their indexes) in ``target`` with the till's own DDL: the same shape."""
    names = tuple(tables)
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src:
        marks = ",".join("?" * len(names))
        ddl = src.execute(
            f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND sql IS NOT NULL "
            "ORDER BY type = 'index', rowid", names,
        ).fetchall()  # fmt: skip
    src.close()
    for (sql,) in ddl:
        target.execute(sql)


def read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def run_in_data_dir(args, run, prefix: str) -> int:
    """Run ``run(args, data)`` in ``--data`` (or a temp dir kept with ``--keep``): 0, or 1 when it could not run."""
    try:
        with data_dir(args.data, args.keep, prefix) as data:
            run(args, data)
    except (RuntimeError, httpx.HTTPError) as exc:
        console.print(f"[bold red]benchmark failed:[/] {exc}")
        return 1
    return 0


# --- figures -------------------------------------------------------------------------------------


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), linear between the two nearest ranks."""
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def sec(seconds: float) -> str:
    return f"{seconds:.2f} s"


def ratio(ours: float, raw: float) -> str:
    return f"{ours / raw:.1f}×" if raw > 0 else "—"


def verdict(value: float, target: float) -> str:
    return "[bold green]PASS[/]" if value <= target else "[bold red]MISS[/]"


def host_state() -> str:
    """The host's CPUs and load average before and after the run: is a MISS the code's or a busy host's?"""
    if LOAD_BEFORE is None:
        return f"host: {os.cpu_count()} CPUs"
    after = os.getloadavg()
    return (f"host: {os.cpu_count()} CPUs; load average (1 min / 5 min) before the run "
            f"{LOAD_BEFORE[0]:.2f} / {LOAD_BEFORE[1]:.2f}, after it {after[0]:.2f} / {after[1]:.2f}")


def table(title: str, columns: Sequence[str]) -> Table:
    """A results table; its caption tells the host's state (see ``host_state``)."""
    out = Table(title=title, title_justify="left", show_edge=False, header_style="bold",
                caption=host_state(), caption_justify="left")
    for i, name in enumerate(columns):
        out.add_column(name, justify="left" if i == 0 else "right")
    return out


def progress(auto_refresh: bool = True) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        transient=False, auto_refresh=auto_refresh,
    )


# --- a big catalogue -----------------------------------------------------------------------------

_NOUNS = ("Молоко", "Кефир", "Сыр", "Хлеб", "Гречка", "Рис", "Чай", "Кофе", "Сок", "Вода", "Печенье", "Конфеты",
          "Колбаса", "Масло", "Мыло", "Шампунь", "Порошок", "Макароны", "Сахар", "Мука")  # fmt: skip
_ADJECTIVES = ("классический", "домашний", "отборный", "фермерский", "нежный", "в/с", "экстра", "мягкий", "лёгкий")


def big_price_file(items: int, extras: int, seed: int = 2026):
    """A ``.spr``-writable replace-catalogue price file: groups, ``items`` items, ``extras`` extra barcodes.

    Built with a progress bar; rows carry no VAT (``.spr`` has no VAT column).
    """
    from icecash.core.barcodes import make_ean13
    from icecash.core.pricefile import CatalogueRow, ExtraBarcodeRow, PriceFile, PriceHeader, StockMode

    rng = random.Random(seed)
    rows: list = []
    groups = []
    for top in range(1, 11):
        rows.append(CatalogueRow(0, str(top), "", f"Отдел {top}", False, None))
        for sub in range(10):
            code = f"{top}{sub:02d}"
            rows.append(CatalogueRow(0, code, "", f"Группа {code}", False, str(top)))
            groups.append(code)
    extra_rows: list = []
    with progress() as bar:
        task = bar.add_task("generating items", total=items + extras)
        for n in range(items):
            price = rng.randrange(1990, 199_000, 10)
            weighed = n % 17 == 0
            alcohol = n % 23 == 0
            rows.append(CatalogueRow(
                0, str(100_000 + n), make_ean13(f"46{n:010d}"),
                f"{rng.choice(_NOUNS)} {rng.choice(_ADJECTIVES)} №{n + 1}{', кг' if weighed else ''}", True,
                groups[n % len(groups)], price=price, min_price=price * 8 // 10,
                max_price=0 if n % 3 else price * 12 // 10, max_discount_bp=rng.choice((0, 500, 1000, 2000)),
                weighed=weighed, department=2 if alcohol else 1, alcohol=alcohol, litres_ml=500 if alcohol else 0,
                stock=rng.randrange(0, 200) * 1000,
            ))  # fmt: skip
            if n % 5000 == 4999:
                bar.update(task, completed=n + 1)
        bar.update(task, completed=items)
        for n in range(extras):
            item = rng.randrange(items)
            if n % 2:
                extra = ExtraBarcodeRow(0, str(100_000 + item), make_ean13(f"47{n:010d}"), f"упаковка {n}", 0, 6000)
            else:
                extra = ExtraBarcodeRow(0, str(100_000 + item), make_ean13(f"47{n:010d}"), f"акция {n}", 990 + n % 500, 0)
            extra_rows.append(extra)
        bar.update(task, completed=items + extras)
    return PriceFile(PriceHeader(replace_catalogue=True, stock_mode=StockMode.CLEAR), rows, extra_rows, "spr")

