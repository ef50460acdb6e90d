"""The accounting server's home directory and its main config ``billing.toml``.

Layout (amstat's names)::

    HOME/
      billing.toml        main config (mail, service user, central server, backups)
      services.cf         services and their daily/monthly scripts and .st files
      warn.cf             balance criterion and warning levels (the server's)
      prices/<list>       price lists
      forms/*.fm          the server's forms (warn.fm, …)
      bin/                the server's programs (user-close, user-open, service scripts)
      backup/             failure logs, archived .st files (YYYY.MM/), home and database backups
      spool/              incoming mail (Maildir) for runqueue
      .month              the accounting month (written by monthly)
      failures.log        the day's failure log (mailed and moved into backup/ by daily)
      billing.sqlite3     the database when the accounting runs alone (no --db)
      accounts/<account>/ daily, daily.fm, warn.cf, .count, *.st, user.cf
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from icecash.billing.files import (
    ACCOUNT_RE,
    ConfigError,
    PriceList,
    Service,
    UserConfig,
    WarnConfig,
    check_account,
    merge_warn,
    parse_price_list,
    parse_services,
    parse_user,
    parse_warn,
    read_text,
)

DB_FILE = "billing.sqlite3"
CONFIG_FILE = "billing.toml"
FAILURE_LOG = "failures.log"


@dataclass
class MailSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "billing@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    admin: str = "root@localhost"  # receives the day's failure log
    timeout: float = 30.0


@dataclass
class Settings:
    """``billing.toml``, then the environment (``ICECASH_SMTP_HOST``/``PORT``, …) on top."""

    mail: MailSettings = field(default_factory=MailSettings)
    user: str = "icecash"  # programs run as this user when the accounting is started as root
    program_timeout: float = 60.0
    backup_keep: int = 14
    central_url: str = "http://127.0.0.1:10100"
    central_token: str = ""
    central_db: str = ""  # the central server's database, read by the built-in collectors
    db_url: str = ""

    @classmethod
    def load(cls, path: Path, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data: dict = {}
        if path.exists():
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(path, None, f"неверный TOML: {exc}", f"invalid TOML: {exc}") from None
        settings = cls()
        mail = data.get("mail", {})
        general = data.get("billing", {})
        central = data.get("central", {})
        backup = data.get("backup", {})
        try:
            for name in ("host", "sender", "username", "password", "admin"):
                if name in mail:
                    setattr(settings.mail, name, str(mail[name]))
            if "port" in mail:
                settings.mail.port = int(mail["port"])
            if "starttls" in mail:
                settings.mail.starttls = bool(mail["starttls"])
            if "timeout" in mail:
                settings.mail.timeout = float(mail["timeout"])
            settings.user = str(general.get("user", settings.user))
            settings.program_timeout = float(general.get("program_timeout", settings.program_timeout))
            settings.db_url = str(general.get("db", ""))
            settings.backup_keep = int(backup.get("keep", settings.backup_keep))
            settings.central_url = str(central.get("url", settings.central_url))
            settings.central_token = str(central.get("token", ""))
            settings.central_db = str(central.get("db", ""))
        except (TypeError, ValueError) as exc:
            raise ConfigError(path, None, f"неверное значение: {exc}", f"bad value: {exc}") from None
        if env.get("ICECASH_SMTP_HOST"):
            settings.mail.host = env["ICECASH_SMTP_HOST"]
        if env.get("ICECASH_SMTP_PORT"):
            try:
                settings.mail.port = int(env["ICECASH_SMTP_PORT"])
            except ValueError:
                raise ConfigError("ICECASH_SMTP_PORT", None, "не число", "not a number") from None
        for key, attr in (("ICECASH_SMTP_SENDER", "sender"), ("ICECASH_SMTP_USER", "username"),
                          ("ICECASH_SMTP_PASSWORD", "password"), ("ICECASH_BILLING_ADMIN", "admin")):
            if env.get(key):
                setattr(settings.mail, attr, env[key])
        if env.get("ICECASH_SERVER_URL"):
            settings.central_url = env["ICECASH_SERVER_URL"]
        if env.get("ICECASH_BILLING_TOKEN"):
            settings.central_token = env["ICECASH_BILLING_TOKEN"]
        if settings.backup_keep < 1:
            raise ConfigError(path, None, "backup.keep должно быть не меньше 1", "backup.keep must be at least 1")
        return settings


class Home:
    """Paths and readers for one accounting home directory."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.accounts_dir = self.path / "accounts"
        self.prices_dir = self.path / "prices"
        self.forms_dir = self.path / "forms"
        self.bin_dir = self.path / "bin"
        self.backup_dir = self.path / "backup"
        self.spool_dir = self.path / "spool"
        self.month_file = self.path / ".month"
        self.failure_log = self.path / FAILURE_LOG
        self.lock_file = self.path / ".lock"
        self._price_cache: dict[str, tuple[tuple[int, int], PriceList]] = {}
        self._warn_cache: tuple[tuple[int, int], WarnConfig] | None = None

    def exists(self) -> bool:
        return (self.path / "services.cf").exists() or self.accounts_dir.is_dir()

    def settings(self, environ: dict[str, str] | None = None) -> Settings:
        return Settings.load(self.path / CONFIG_FILE, environ)

    def db_url(self, given: str | None, settings: Settings | None = None) -> str:
        from icecash.store.db import sqlite_url

        if given:
            return given
        if settings and settings.db_url:
            return settings.db_url
        return sqlite_url(self.path / DB_FILE)

    # accounts
    def account_dir(self, account: str) -> Path:
        return self.accounts_dir / check_account(account)

    def accounts(self) -> list[str]:
        if not self.accounts_dir.is_dir():
            return []
        return sorted(p.name for p in self.accounts_dir.iterdir() if p.is_dir() and ACCOUNT_RE.fullmatch(p.name))

    def require_account(self, account: str) -> Path:
        path = self.account_dir(account)
        if not path.is_dir():
            from icecash.core.errors import NotFound

            raise NotFound("no_account", f"счёт {account!r} не найден в {self.accounts_dir}",
                           f"account {account!r} not found in {self.accounts_dir}", field="account")
        return path

    def create_account(self, account: str, mail: list[str] | tuple[str, ...] = (),
                       prices: list[str] | tuple[str, ...] = ("standard",)) -> Path:
        """Make ``accounts/<account>/`` with a ``user.cf`` (what the central server does per firm).

        An existing ``user.cf`` is kept: the operator may have edited it.
        """
        from icecash.billing.files import write_atomic

        path = self.account_dir(account)
        lines = [f"prices {' '.join(prices)}"] if prices else []
        lines += [f"mail {address}" for address in mail]
        parse_user("\n".join(lines) + "\n", f"{account}/user.cf")  # refuse bad input before writing
        path.mkdir(parents=True, exist_ok=True)
        user_cf = path / "user.cf"
        if not user_cf.exists():
            write_atomic(user_cf, "# made by the central server for the firm\n" + "\n".join(lines) + "\n")
        return path

    def user_config(self, account: str) -> UserConfig:
        path = self.account_dir(account) / "user.cf"
        if not path.exists():
            return UserConfig((), ())
        return parse_user(read_text(path), path)

    def st_files(self, account: str) -> list[Path]:
        return sorted(self.account_dir(account).glob("*.st"))

    # server files
    def services(self) -> list[Service]:
        path = self.path / "services.cf"
        if not path.exists():
            return []
        return parse_services(read_text(path), path)

    def price_list(self, name: str) -> PriceList:
        """A price list of ``prices/``, parsed again only when its file changes."""
        path = self.prices_dir / name
        try:
            status = path.stat()
        except FileNotFoundError:
            raise ConfigError(path, None, f"прайс-лист {name!r} не найден", f"price list {name!r} not found") from None
        stamp = (status.st_mtime_ns, status.st_size)
        cached = self._price_cache.get(name)
        if cached is None or cached[0] != stamp:
            cached = self._price_cache[name] = (stamp, parse_price_list(read_text(path), name, path))
        return cached[1]

    def price_lists(self) -> list[str]:
        if not self.prices_dir.is_dir():
            return []
        return sorted(p.name for p in self.prices_dir.iterdir() if p.is_file() and not p.name.startswith("."))

    def warn_config(self, account: str) -> WarnConfig | None:
        """The account's ``warn.cf`` read first, then the server's (see :func:`merge_warn`)."""
        personal = self.account_dir(account) / "warn.cf"
        return merge_warn(parse_warn(read_text(personal), personal) if personal.exists() else None,
                          self._server_warn())

    def _server_warn(self) -> WarnConfig | None:
        """The server's ``warn.cf``, parsed again only when the file changes."""
        path = self.path / "warn.cf"
        try:
            status = path.stat()
        except FileNotFoundError:
            return None
        stamp = (status.st_mtime_ns, status.st_size)
        if self._warn_cache is None or self._warn_cache[0] != stamp:
            self._warn_cache = (stamp, parse_warn(read_text(path), path))
        return self._warn_cache[1]

    def find_form(self, account: str | None, name: str) -> Path | None:
        """A form in the account's directory first, then in the server's ``forms/``."""
        candidates = ([self.account_dir(account) / name] if account else []) + [self.forms_dir / name]
        return next((p for p in candidates if p.is_file()), None)

    def find_program(self, name: str) -> Path | None:
        """A program: an absolute path, else the server's ``bin/``, then ``PATH``."""
        import shutil

        if os.path.isabs(name):
            return Path(name) if os.access(name, os.X_OK) else None
        if "/" in name:
            return None
        local = self.bin_dir / name
        if local.is_file() and os.access(local, os.X_OK):
            return local
        found = shutil.which(name)
        return Path(found) if found else None


class FailureLog:
    """The day's failure log: one line per failure, timestamped; never raises on write."""

    def __init__(self, path: Path, clock):
        self.path = path
        self.clock = clock
        self.count = 0

    def write(self, where: str, message: str) -> None:
        stamp = self.clock().strftime("%Y-%m-%d %H:%M:%S")
        line = f"{stamp} {where}: {' '.join(message.split())}\n"
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self.count += 1

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8") if self.path.exists() else ""


def now() -> datetime:
    return datetime.now().astimezone()
