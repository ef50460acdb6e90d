"""The parsed form of a promotion ("акция"): typed commands, conditions, rates and the schedule.

Everything here is frozen data made by :mod:`.parser` and read by :mod:`.evaluator`. Money is in
kopecks, quantities (and litres) in thousandths, rates in basis points (1 % == 100).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from enum import Enum

from ..errors import InvalidInput
from ..money import format_rate


class PromoSyntaxError(InvalidInput):
    """A promotion text (or schedule field) that cannot be parsed: which field, line and column, and why."""

    def __init__(self, code: str, message_ru: str, message_en: str, field: str, line: int, column: int, **details):
        super().__init__(
            code,
            f"{field}, строка {line}, позиция {column}: {message_ru}",
            f"{field}, line {line}, column {column}: {message_en}",
            field=field,
            line=line,
            column=column,
            **details,
        )
        self.line = line
        self.column = column
        self.reason_ru = message_ru  # the message without its position
        self.reason_en = message_en


class Stage(str, Enum):
    """When a promotion runs: before the receipt is calculated, or after it (seeing its totals)."""

    BEFORE_CALC = "before_calc"
    AFTER_CALC = "after_calc"


class Kind(str, Enum):
    """How a field's value is written and compared."""

    MONEY = "money"  # rubles in the text, kopecks inside
    QTY = "qty"  # units (or litres) in the text, thousandths inside
    RATE = "rate"  # percent in the text, basis points inside
    INT = "int"
    BOOL = "bool"  # 0/1
    TEXT = "text"  # compared as text: = <> in only
    TIME = "time"  # HH:MM, minutes inside
    FREE = "free"  # prop.NAME / sets.NAME: numbers compare as numbers, anything else as text


@dataclass(frozen=True)
class FieldRef:
    """A field a condition reads: a known field of the line / header / filter group, prop.NAME or sets.NAME."""

    name: str  # canonical name ("sum", "prop.colour", "sets.temperature")
    kind: Kind
    source: str = "own"  # own · prop · sets
    key: str = ""  # the NAME of prop.NAME / sets.NAME


@dataclass(frozen=True)
class Condition:
    """``field?op?value``; for ``in`` the value is a tuple of alternatives."""

    field: FieldRef
    op: str  # = <> < > <= >= in
    value: object
    text: str
    line: int
    column: int


@dataclass(frozen=True)
class Rate:
    """A rate written in the text (basis points) or read from a replicated variable at evaluation."""

    bp: int = 0
    variable: str | None = None

    def __str__(self) -> str:
        if self.variable:
            return f"sets.{self.variable}"
        return format_rate(self.bp).rstrip("0").rstrip(".") + "%"  # 1050 → 10.5%, exact (no float)


@dataclass(frozen=True)
class Fields:
    """The ``[k=v,…]`` of an effect: what an affected or added line gets."""

    price: int | None = None  # a promotion price, kopecks
    discount: Rate | None = None
    bonus: Rate | None = None
    no_discount: bool = False


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    line: int
    column: int

    @property
    def name(self) -> str:
        return _NAMES[type(self)]


@dataclass(frozen=True)
class CodeFilter(Command):
    """DO_POS_CODE_IN {v} [NOT] [GROUPS] (codes|*): keep the lines whose code or group is listed."""

    var: str
    entries: tuple[str, ...]
    negate: bool = False
    lists: bool = False  # GROUPS: the entries are goods-list names
    any: bool = False  # the list is *


@dataclass(frozen=True)
class PropertyFilter(Command):
    """DO_POS_PROPERTY {v} (conds): keep the lines whose fields meet every condition."""

    var: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class FiltersGroup(Command):
    """DO_FILTERS_GROUP: kept for compatibility; aggregates are always available."""


@dataclass(frozen=True)
class HeadCondition(Command):
    """IF_HEAD_PROPERTY (conds): the receipt header meets every condition."""

    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class GroupCondition(Command):
    """IF_GROUP_PROPERTY {v} (conds): the aggregates of filter v meet every condition."""

    var: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class PlaceCondition(Command):
    """IF_PLACE_IN [NOT] [GROUPS] (places): the shop (idplace) is, or is not, listed."""

    entries: tuple[str, ...]
    negate: bool = False
    groups: bool = False


@dataclass(frozen=True)
class GroupDiscount(Command):
    var: str
    label: str
    rate: Rate


@dataclass(frozen=True)
class GroupBonus(Command):
    var: str
    rate: Rate
    otherwise: str = "default"  # default | keep


@dataclass(frozen=True)
class GroupAddPos(Command):
    var: str
    code: str
    per: int  # gcount, thousandths
    count: int  # thousandths
    fields: Fields = field(default_factory=Fields)


@dataclass(frozen=True)
class SummaAddPos(Command):
    code: str
    summa: int  # kopecks
    count: int  # thousandths
    fields: Fields = field(default_factory=Fields)


@dataclass(frozen=True)
class GroupDivPos(Command):
    var: str
    code: str
    count: int  # thousandths: the pack size
    fields: Fields = field(default_factory=Fields)


@dataclass(frozen=True)
class GroupSetProperty(Command):
    var: str
    fields: Fields


@dataclass(frozen=True)
class GroupDelete(Command):
    var: str


@dataclass(frozen=True)
class PrizeGen(Command):
    system: str


@dataclass(frozen=True)
class DenyDiscountCard(Command):
    pass


@dataclass(frozen=True)
class DenyBonusCard(Command):
    pass


@dataclass(frozen=True)
class DenyBonusDiscount(Command):
    pass


@dataclass(frozen=True)
class HeadDiscount(Command):
    label: str
    rate: Rate


@dataclass(frozen=True)
class HeadBonus(Command):
    rate: Rate
    otherwise: str | Rate = "keep"  # keep | default | a rate used while the condition does not hold


_NAMES: dict[type, str] = {
    CodeFilter: "DO_POS_CODE_IN",
    PropertyFilter: "DO_POS_PROPERTY",
    FiltersGroup: "DO_FILTERS_GROUP",
    HeadCondition: "IF_HEAD_PROPERTY",
    GroupCondition: "IF_GROUP_PROPERTY",
    PlaceCondition: "IF_PLACE_IN",
    GroupDiscount: "DO_GROUP_DISCOUNT",
    GroupBonus: "DO_GROUP_BONUS",
    GroupAddPos: "DO_GROUP_ADDPOS_PROPORCIONAL",
    SummaAddPos: "DO_SUMMA_ADDPOS_PROPORCIONAL",
    GroupDivPos: "DO_GROUP_DIVPOS",
    GroupSetProperty: "DO_GROUP_SET_PROPERTY",
    GroupDelete: "DO_GROUP_DELETE",
    PrizeGen: "DO_PRIZE_GEN",
    DenyDiscountCard: "DO_DENY_DISCOUNT_CARD",
    DenyBonusCard: "DO_DENY_BONUS_CARD",
    DenyBonusDiscount: "DO_DENY_BONUS_DISCOUNT",
    HeadDiscount: "DO_SET_HEAD_DISCOUNT",
    HeadBonus: "DO_SET_HEAD_BONUS",
}

FILTERS = (CodeFilter, PropertyFilter, FiltersGroup)
CONDITIONS = (HeadCondition, GroupCondition, PlaceCondition)
GROUP_EFFECTS = (GroupDiscount, GroupBonus, GroupAddPos, GroupDivPos, GroupSetProperty, GroupDelete)


@dataclass(frozen=True)
class Schedule:
    """When a promotion is active: dates (inclusive), a daily time window, a weekday mask (Monday first)."""

    date_from: date | None = None
    date_to: date | None = None
    time_from: time | None = None
    time_to: time | None = None  # before time_from: the window crosses midnight
    weekdays: str = "1111111"

    def active_at(self, moment_date: date, moment_time: time) -> bool:
        if self.date_from is not None and moment_date < self.date_from:
            return False
        if self.date_to is not None and moment_date > self.date_to:
            return False
        if self.weekdays[moment_date.weekday()] != "1":
            return False
        start, end = self.time_from, self.time_to
        if start is None and end is None:
            return True
        moment_time = moment_time.replace(microsecond=0)  # a window "to 23:59:59" includes 23:59:59.5
        start = start or time(0, 0)
        if end is None:
            return moment_time >= start
        if start <= end:
            return start <= moment_time <= end
        return moment_time >= start or moment_time <= end  # 22:00–02:00


@dataclass(frozen=True)
class Promotion:
    """One parsed promotion. ``filters``, ``conditions`` and ``effects`` keep the order of the text."""

    id: str
    name: str
    stage: Stage | None  # None: SET BEFORE_CALC FALSE and no AFTER_CALC: never runs
    filters: tuple[Command, ...]
    conditions: tuple[Command, ...]
    effects: tuple[Command, ...]
    schedule: Schedule = field(default_factory=Schedule)
    if_text: str = ""
    then_text: str = ""
