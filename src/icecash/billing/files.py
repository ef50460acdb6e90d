"""The accounting server's text files, as amstat had them, and their parsers.

Every parser takes the text and the path it came from and raises :class:`ConfigError` naming the
file and the line. All files: ``#`` starts a comment line, blank lines are ignored, fields are
separated by spaces and/or tabs. Writers replace a file atomically (temporary file, fsync,
rename), so a crash leaves the old or the new content, never half of one.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from icecash.core.errors import InvalidInput
from icecash.core.formula import Formula, FormulaError, Month, parse
from icecash.core.money import (
    format_money,
    format_quantity,
    parse_money,
    parse_quantity,
)

ACCOUNT_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
FORM_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


class ConfigError(InvalidInput):
    """A file the accounting server cannot use; names the file and the 1-based line."""

    def __init__(self, path: Path | str, line: int | None, message_ru: str, message_en: str):
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__("billing_config", f"{where}: {message_ru}", f"{where}: {message_en}",
                         field=str(path), line=line)
        self.path = str(path)
        self.line = line


def significant_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number, stripped line) for every line that is not blank and not a ``#`` comment."""
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, None, f"файл не в UTF-8 ({exc.reason})", f"file is not UTF-8 ({exc.reason})") from None


def write_atomic(path: Path, text: str, mode: int | None = None) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves the old or the new file, whole."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves the old file, and no stray temporary beside it
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_account(name: str) -> str:
    if not ACCOUNT_RE.fullmatch(name):
        raise InvalidInput("bad_account", f"неверное имя счёта {name!r}: латиница, цифры, _ . -",
                           f"bad account name {name!r}: letters, digits, _ . - only", field="account")
    return name


# --- services.cf --------------------------------------------------------------------------------


BUILTIN_PREFIX = "@"  # a daily script written as @receipts is the built-in collector "receipts"


@dataclass(frozen=True)
class Service:
    name: str
    daily: str | None  # program name/path, "@collector", or None for `no`
    monthly: str | None
    st_files: tuple[str, ...]
    line: int


def parse_services(text: str, path: Path | str = "services.cf") -> list[Service]:
    """``name daily-script [monthly-script] file.st [file.st …]``; ``no`` = no script.

    The monthly script may be omitted: the third field is then already a ``.st`` file name.
    """
    services: list[Service] = []
    seen: set[str] = set()
    for number, line in significant_lines(text):
        fields = line.split()
        if len(fields) < 3:
            raise ConfigError(path, number, "нужно: имя, ежедневный скрипт, [ежемесячный скрипт], файлы .st",
                              "expected: name, daily script, [monthly script], .st files")
        name, daily, rest = fields[0], fields[1], fields[2:]
        monthly: str | None = None
        if not rest[0].endswith(".st"):
            monthly, rest = rest[0], rest[1:]
        if not rest:
            raise ConfigError(path, number, f"у сервиса {name} не указан ни один файл .st",
                              f"service {name} names no .st file")
        for st_file in rest:
            if "/" in st_file or not st_file.endswith(".st") or st_file.startswith("."):
                raise ConfigError(path, number, f"{st_file!r}: нужно имя файла .st без пути",
                                  f"{st_file!r}: expected a .st file name without a path")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", name):
            raise ConfigError(path, number, f"имя сервиса {name!r}: латинские буквы, цифры, _ -",
                              f"service name {name!r}: Latin letters, digits, _ - only")
        if name in seen:
            raise ConfigError(path, number, f"сервис {name} описан дважды", f"service {name} defined twice")
        seen.add(name)
        services.append(Service(name, None if daily == "no" else daily,
                                None if monthly in (None, "no") else monthly, tuple(rest), number))
    return services


# --- warn.cf ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WarnLevel:
    threshold: int  # N: used when N <= count
    form: str  # form file name, e.g. warn.fm
    program: str | None
    line: int


@dataclass(frozen=True)
class WarnConfig:
    criterion: Formula | None
    criterion_line: int
    levels: tuple[WarnLevel, ...]
    path: str

    def level_for(self, count: int) -> WarnLevel | None:
        """The line with the largest N not exceeding ``count`` (None: no line applies yet)."""
        best: WarnLevel | None = None
        for level in self.levels:
            if level.threshold <= count and (best is None or level.threshold > best.threshold):
                best = level
        return best


@dataclass(frozen=True)
class Decision:
    """What the balance check does for one account on one day."""

    level: WarnLevel | None  # the warn.cf line to act on (form, program), or None
    new_count: int | None  # the value .count gets afterwards; None: leave it as it is
    reopen: bool  # the criterion is false: a closed account may be reopened


def decide(config: WarnConfig, count: int, insufficient: bool) -> Decision:
    """The escalation rule, as data in, decision out (pure).

    Criterion false: ``.count`` becomes min(count, 0) — a positive count resets, a trust credit
    stays. True: the line with the largest N ≤ count acts, and ``.count`` becomes count + 1 (with
    no such line, as with a trust credit, only the count moves).
    """
    if not insufficient:
        return Decision(None, 0 if count > 0 else None, True)
    return Decision(config.level_for(count), count + 1, False)


def parse_warn(text: str, path: Path | str = "warn.cf") -> WarnConfig:
    """First significant line ``criterion <formula>``, then ``<N> =<form.fm> [<program>]`` lines.

    A file with no lines at all (or only comments) gives a config with neither criterion nor
    levels, so the server's file supplies both.
    """
    criterion: Formula | None = None
    criterion_line = 0
    levels: list[WarnLevel] = []
    for number, line in significant_lines(text):
        if criterion is None:
            match = re.match(r"(\S+)(?:\s+(.*))?$", line)
            assert match is not None
            keyword, formula = match[1], match[2] or ""
            if keyword != "criterion" or not formula:
                raise ConfigError(path, number, "первой значащей строкой должна быть 'criterion <формула>'",
                                  "the first significant line must be 'criterion <formula>'")
            start = match.start(2)
            try:
                criterion = parse(formula)
            except FormulaError as exc:
                raise ConfigError(path, number, f"критерий, столбец {start + exc.position}: {exc.message_ru}",
                                  f"criterion, column {start + exc.position}: {exc.message_en}") from None
            criterion_line = number
            continue
        fields = line.split()
        if len(fields) not in (2, 3) or not re.fullmatch(r"-?\d+", fields[0]) or not fields[1].startswith("="):
            raise ConfigError(path, number, "нужно: <N> =<форма.fm> [<программа>]", "expected: <N> =<form.fm> [<program>]")
        form = fields[1][1:]
        if not FORM_NAME_RE.fullmatch(form):
            raise ConfigError(path, number, f"неверное имя формы {form!r}", f"bad form name {form!r}")
        levels.append(WarnLevel(int(fields[0]), form, fields[2] if len(fields) == 3 else None, number))
    seen: set[int] = set()
    for level in levels:
        if level.threshold in seen:
            raise ConfigError(path, level.line, f"порог {level.threshold} указан дважды",
                              f"threshold {level.threshold} given twice")
        seen.add(level.threshold)
    return WarnConfig(criterion, criterion_line, tuple(levels), str(path))


def merge_warn(personal: WarnConfig | None, server: WarnConfig | None) -> WarnConfig | None:
    """The account's file is read first, then the server's: the first criterion found wins, and
    the levels come from the first file that has any."""
    configs = [c for c in (personal, server) if c is not None]
    if not configs:
        return None
    with_criterion = next((c for c in configs if c.criterion is not None), None)
    with_levels = next((c for c in configs if c.levels), configs[0])
    if with_criterion is None:
        return None
    return WarnConfig(with_criterion.criterion, with_criterion.criterion_line, with_levels.levels, with_criterion.path)


# --- price lists --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    item: str  # exact item, or a prefix ending in '*'
    price: int  # kopecks per `per`
    per: int  # thousandths of a unit
    description: str
    list_name: str
    line: int

    def cost(self, quantity: int) -> int:
        """quantity × price / per, rounded half-up once (quantity and per in thousandths)."""
        from icecash.core.money import div_half_up

        return div_half_up(quantity * self.price, self.per)


@dataclass
class PriceList:
    name: str
    exact: dict[str, Price] = field(default_factory=dict)
    wildcards: list[Price] = field(default_factory=list)  # longest prefix first

    def find(self, item: str) -> Price | None:
        price = self.exact.get(item)
        if price is not None:
            return price
        for wildcard in self.wildcards:
            if item.startswith(wildcard.item[:-1]):
                return wildcard
        return None


def parse_price_list(text: str, name: str, path: Path | str | None = None) -> PriceList:
    """``item price per [description]``: price in rubles (``1.50``), per in units (``1``, ``1000``, ``0.5``)."""
    path = path or f"prices/{name}"
    prices = PriceList(name)
    for number, line in significant_lines(text):
        fields = line.split(None, 3)
        if len(fields) < 3:
            raise ConfigError(path, number, "нужно: позиция цена за [описание]", "expected: item price per [description]")
        item = fields[0]
        if "*" in item[:-1]:
            raise ConfigError(path, number, f"{item!r}: '*' допускается только в конце", f"{item!r}: '*' only at the end")
        try:
            price = parse_money(fields[1])
        except ValueError as exc:
            raise ConfigError(path, number, f"цена {fields[1]!r}: {exc}", f"price {fields[1]!r}: {exc}") from None
        try:
            per = parse_quantity(fields[2])
        except ValueError as exc:
            raise ConfigError(path, number, f"количество {fields[2]!r}: {exc}", f"per {fields[2]!r}: {exc}") from None
        if per <= 0:
            raise ConfigError(path, number, "'за' должно быть больше нуля", "'per' must be above zero")
        if price < 0:
            raise ConfigError(path, number, "цена не может быть отрицательной", "a price cannot be negative")
        entry = Price(item, price, per, fields[3] if len(fields) == 4 else "", name, number)
        if item.endswith("*"):
            if any(w.item == item for w in prices.wildcards):
                raise ConfigError(path, number, f"позиция {item} указана дважды", f"item {item} given twice")
            prices.wildcards.append(entry)
        else:
            if item in prices.exact:
                raise ConfigError(path, number, f"позиция {item} указана дважды", f"item {item} given twice")
            prices.exact[item] = entry
    prices.wildcards.sort(key=lambda p: -len(p.item))
    return prices


def format_price_list(prices: PriceList) -> str:
    lines = []
    for entry in [*prices.exact.values(), *prices.wildcards]:
        lines.append(f"{entry.item}\t{format_money(entry.price)}\t{format_quantity(entry.per)}\t{entry.description}".rstrip())
    return "\n".join(lines) + "\n"


# --- user.cf ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserConfig:
    prices: tuple[str, ...]
    mail: tuple[str, ...]


_MAIL_RE = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def parse_user(text: str, path: Path | str = "user.cf") -> UserConfig:
    """Directives ``prices <list> [<list>…]`` and ``mail <address>`` (both may repeat)."""
    prices: list[str] = []
    mail: list[str] = []
    for number, line in significant_lines(text):
        directive, *args = line.split()
        if directive == "prices":
            if not args:
                raise ConfigError(path, number, "prices: не указан ни один прайс-лист", "prices: no price list named")
            for name in args:
                if not FORM_NAME_RE.fullmatch(name):
                    raise ConfigError(path, number, f"неверное имя прайс-листа {name!r}", f"bad price list name {name!r}")
            prices.extend(args)
        elif directive == "mail":
            if len(args) != 1 or not _MAIL_RE.fullmatch(args[0]):
                raise ConfigError(path, number, "mail: нужен один адрес вида user@example.ru",
                                  "mail: expected one address like user@example.com")
            mail.append(args[0])
        else:
            raise ConfigError(path, number, f"неизвестная директива {directive!r} (есть prices, mail)",
                              f"unknown directive {directive!r} (known: prices, mail)")
    return UserConfig(tuple(prices), tuple(mail))


# --- .st statistics -----------------------------------------------------------------------------


def parse_st(text: str, path: Path | str, into: dict[str, int] | None = None) -> dict[str, int]:
    """``item quantity`` per line; repeated items are summed (quantities in thousandths)."""
    totals = {} if into is None else into
    for number, raw in enumerate(text.splitlines(), 1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 2:
            raise ConfigError(path, number, "нужно: позиция количество", "expected: item quantity")
        item, text_qty = fields
        if text_qty.isdigit() and len(text_qty) < 15:  # the common case, without the general parser
            quantity = int(text_qty) * 1000
        else:
            try:
                quantity = parse_quantity(text_qty)
            except ValueError as exc:
                raise ConfigError(path, number, f"количество {text_qty!r}: {exc}", f"quantity {text_qty!r}: {exc}") from None
        totals[item] = totals.get(item, 0) + quantity
    return totals


def replace_day_block(text: str, day: str, lines: list[str]) -> str:
    """A ``.st`` file's text with the block of ``day`` (``# day YYYY-MM-DD`` … ) replaced by ``lines``.

    Built-in collectors append one block per day; writing a day again replaces its block, so a
    re-run day is never counted twice.
    """
    marker = f"# day {day}"
    kept: list[str] = []
    skipping = False
    for raw in text.splitlines():
        if raw.startswith("# day "):
            skipping = raw.strip() == marker
        if not skipping:
            kept.append(raw)
    if lines:
        kept.append(marker)
        kept.extend(lines)
    return "\n".join(kept) + "\n" if kept else ""


# --- .count and .month --------------------------------------------------------------------------


def read_count(path: Path) -> int:
    """The warnings already sent; a missing file is created with 0. Negative = trust credit."""
    if not path.exists():
        write_atomic(path, "0\n")
        return 0
    text = path.read_text(encoding="utf-8").strip()
    if not re.fullmatch(r"-?\d{1,9}", text or "0"):
        raise ConfigError(path, 1, f"ожидалось целое число, а найдено {text[:20]!r}", f"expected a whole number, found {text[:20]!r}")
    return int(text or 0)


def write_count(path: Path, count: int) -> None:
    write_atomic(path, f"{count}\n")


def read_month(path: Path) -> Month | None:
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8").strip()
    try:
        return Month.parse(text)
    except ValueError:
        raise ConfigError(path, 1, f"ожидался месяц ГГГГ.ММ, а найдено {text[:20]!r}",
                          f"expected a month YYYY.MM, found {text[:20]!r}") from None


def write_month(path: Path, month: Month) -> None:
    write_atomic(path, f"{month}\n")
