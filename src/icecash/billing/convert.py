"""``convertstat``: sum an account's ``.st`` files, price them by its price lists, store the month.

Pricing (pure, :func:`rate`): for each item, the lists named in ``user.cf`` are searched in
order; in a list an exact item wins over a ``prefix*`` wildcard, and a longer wildcard over a
shorter one. cost = quantity × price / per, rounded half-up once per item per month. An item no
list prices goes to the failure log and is not charged.

Storing replaces the rows of (account, month), so converting again gives the same table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from icecash.billing.files import PriceList, parse_st, read_text
from icecash.billing.home import FailureLog, Home
from icecash.billing.store import Book, RatedRow
from icecash.core.errors import DomainError
from icecash.core.formula import Month
from icecash.core.money import format_money, format_quantity


def rate(usage: dict[str, int], lists: Sequence[PriceList]) -> tuple[list[RatedRow], list[str]]:
    """Priced rows (sorted by item) and the items no list prices."""
    rows: list[RatedRow] = []
    unpriced: list[str] = []
    for item in sorted(usage):
        quantity = usage[item]
        for prices in lists:
            price = prices.find(item)
            if price is not None:
                rows.append(RatedRow(item, quantity, price.price, price.per, price.cost(quantity), prices.name))
                break
        else:
            unpriced.append(item)
    return rows, unpriced


def read_usage(paths: Iterable[Path]) -> dict[str, int]:
    usage: dict[str, int] = {}
    for path in paths:
        parse_st(read_text(path), path, usage)
    return usage


@dataclass
class ConvertResult:
    month: Month
    accounts: int = 0
    rows: int = 0
    cost: int = 0
    failed: list[str] = field(default_factory=list)
    rated: dict[str, list[RatedRow]] = field(default_factory=dict)


def rate_account(home: Home, account: str, input_file: Path | None = None,
                 archive: Path | None = None) -> tuple[list[RatedRow], list[str]]:
    """Rate one account's statistics: its ``.st`` files, those archived under ``archive``, or ``input_file``."""
    config = home.user_config(account)
    lists = [home.price_list(name) for name in config.prices]
    if input_file:
        files = [input_file]
    elif archive is not None:
        files = sorted((archive / account).glob("*.st"))
    else:
        files = home.st_files(account)
    return rate(usage=read_usage(files), lists=lists)


def convertstat(
    home: Home,
    book: Book | None,
    month: Month,
    accounts: Sequence[str],
    failures: FailureLog,
    *,
    input_file: Path | None = None,
    output: Path | None = None,
    progress: Callable[[int], None] | None = None,
    closed: bool = False,
) -> ConvertResult:
    """Rate ``accounts`` for ``month``; write the rows to the database (or to ``output`` as text).

    ``closed``: the month is already closed, so its statistics are read from the archive
    ``backup/YYYY.MM/<account>/`` that ``monthly`` made (converting a closed month again must
    not find the new month's files, nor none at all). An account whose files cannot be read is
    written to the failure log and keeps its old rows.
    """
    result = ConvertResult(month)
    archive = home.backup_dir / str(month) if closed else None
    for account in accounts:
        try:
            rows, unpriced = rate_account(home, account, input_file, archive)
        except DomainError as exc:
            failures.write(f"convertstat {account}", exc.message_en)
            result.failed.append(account)
        except OSError as exc:
            failures.write(f"convertstat {account}", f"cannot read: {exc}")
            result.failed.append(account)
        else:
            for item in unpriced:
                failures.write(f"convertstat {account}", f"item {item!r} is in no price list of the account; not charged")
            result.rated[account] = rows
            result.rows += len(rows)
            result.cost += sum(r.cost for r in rows)
        if progress:
            progress(1)
    result.accounts = len(result.rated)
    if output is not None:
        lines = ["#account\tyear.month\titem\tquantity\tprice\tper\tcost\tlist"]
        for account, rows in result.rated.items():
            for r in rows:
                lines.append(f"{account}\t{month}\t{r.item}\t{format_quantity(r.quantity)}\t{format_money(r.price)}\t"
                             f"{format_quantity(r.per)}\t{format_money(r.cost)}\t{r.price_list}")
        output.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif book is not None:
        book.replace_month(month, result.rated)
    return result


__all__ = ["ConvertResult", "convertstat", "rate", "rate_account", "read_usage"]
