"""Accounting months and the period notation of formulas: ``.``, ``-.2``, ``-1.``, ``-1.2``, ``2026.03``.

A period names one accounting month relative to the current one (``-Y.M`` = Y years and M months
back, ``.`` = the current month) or absolutely (``YYYY.MM``). Pure: no clock, the caller supplies
the current month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Month:
    """One accounting month; ordered, and counted in months by :attr:`index`."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} is not 1..12")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year {self.year} is not 1..9999")

    @property
    def index(self) -> int:
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Month:
        return cls(index // 12, index % 12 + 1)

    def shift(self, months: int) -> Month:
        return Month.from_index(self.index + months)

    @classmethod
    def parse(cls, text: str) -> Month:
        """``YYYY.MM`` or ``YYYY-MM`` (the form `.month` and the CLI use)."""
        match = re.fullmatch(r"\s*(\d{4})[.-](\d{1,2})\s*", text)
        if not match:
            raise ValueError(f"{text!r} is not a month (YYYY.MM)")
        return cls(int(match[1]), int(match[2]))

    def __str__(self) -> str:
        return f"{self.year:04d}.{self.month:02d}"


@dataclass(frozen=True)
class Period:
    """A period as written: relative (``back`` months before the current one) or absolute."""

    back: int | None = None
    absolute: Month | None = None

    def resolve(self, current: Month) -> Month:
        if self.absolute is not None:
            return self.absolute
        return current.shift(-(self.back or 0))

    def __str__(self) -> str:
        if self.absolute is not None:
            return str(self.absolute)
        if not self.back:
            return "."
        years, months = divmod(self.back, 12)
        return f"-{years or ''}.{months or ''}"


class PeriodError(ValueError):
    """A period token that names no month; carries the message in Russian and English."""

    def __init__(self, message_ru: str, message_en: str):
        super().__init__(message_en)
        self.message_ru = message_ru
        self.message_en = message_en


PERIOD_RE = re.compile(r"(?P<abs>(?P<year>\d{4})\.(?P<month>\d{1,2})(?![\d.]))|(?P<rel>-(?P<ry>\d*)\.(?P<rm>\d*)(?![\d.]))|(?P<cur>\.(?![\d.]))")


def match_period(text: str, pos: int) -> tuple[Period, int] | None:
    """The period starting at ``pos`` and the position after it, or None when there is none.

    Raises ValueError for a well-formed token that names no month (``2026.13``, ``-.``).
    """
    match = PERIOD_RE.match(text, pos)
    if not match:
        return None
    if match["abs"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError(f"месяц {month} не в 1..12", f"month {month} is not 1..12")
        if int(match["year"]) < 1:
            raise PeriodError("год 0000 не существует", "there is no year 0000")
        return Period(absolute=Month(int(match["year"]), month)), match.end()
    if match["rel"]:
        if not match["ry"] and not match["rm"]:
            raise PeriodError("в '-.' нужно число лет или месяцев", "'-.' needs a number of years or months")
        back = int(match["ry"] or 0) * 12 + int(match["rm"] or 0)
        return Period(back=back), match.end()
    return Period(back=0), match.end()
