"""The evaluator: a receipt, a set of parsed promotions and a context in; per-line adjustments out.

Every evaluation starts from the receipt as the cashier made it (the ``promo_*`` fields of its
lines are ignored), so it is deterministic and idempotent, and an effect whose condition stops
holding (a line removed, the total below a threshold) is simply not in the next result: nothing
is ever "undone" by hand. Each adjustment carries the promotion that caused it and a reason in
Russian and English. A promotion that cannot be evaluated (a missing variable, an unknown goods
list or item, an internal error) is skipped and reported in ``problems``; evaluation never raises.

Stages: ``BEFORE_CALC`` promotions see the lines' amounts before any discount; ``AFTER_CALC``
promotions see the receipt calculated with the ``BEFORE_CALC`` effects and the card (``total``,
``discount``); their effects are then added and the receipt is calculated once more, never fed
back (no oscillation).

Combining: on one line the largest promotion discount wins (ties: the earlier promotion), and it
does not stack with the card or manual discount either: the receipt takes the largest of the
three (``receipt.calculate_line``). Bonus rates: the largest. Added lines: all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from ..money import QTY_SCALE, div_ceil, div_half_up, format_money, format_quantity, line_amount, parse_quantity, parse_rate, rate_of
from ..receipt import ItemSnapshot, LineInput, ReceiptKind, calculate
from .model import (
    GROUP_EFFECTS,
    CodeFilter,
    Condition,
    DenyBonusCard,
    DenyBonusDiscount,
    DenyDiscountCard,
    Fields,
    FiltersGroup,
    GroupAddPos,
    GroupBonus,
    GroupCondition,
    GroupDelete,
    GroupDiscount,
    GroupDivPos,
    GroupSetProperty,
    HeadBonus,
    HeadCondition,
    HeadDiscount,
    Kind,
    PlaceCondition,
    PrizeGen,
    Promotion,
    Rate,
    Stage,
    SummaAddPos,
)

# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReceiptFacts:
    """What a promotion may look at: the cashier's lines and the receipt header.

    ``lines``: as the cashier made them, without promotion-added lines. Storno lines and return
    lines (``fixed_total``) take no part. ``line_properties`` / ``line_groups`` (optional, by
    line): free properties for ``prop.NAME`` and the ancestor groups of the item (its own
    ``group_code`` always counts).
    """

    lines: tuple[LineInput, ...]
    moment: datetime
    card: str = ""
    card_rate_bp: int = 0
    bonus_card: str = ""
    place: str = ""
    kassa: str = ""
    kind: ReceiptKind = ReceiptKind.SALE
    properties: Mapping[str, str] = field(default_factory=dict)
    line_properties: tuple[Mapping[str, str], ...] = ()
    line_groups: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class PromoContext:
    """What surrounds a receipt: replicated variables (``sets.NAME``), goods lists, place groups, the catalogue.

    ``lookup``: the catalogue snapshot of an item code, for lines a promotion adds.
    ``check_places``: evaluate ``IF_PLACE_IN`` (the server's simulator); a till leaves it off,
    the server has already sent it only the promotions for its place.
    """

    variables: Mapping[str, str] = field(default_factory=dict)
    goods_lists: Mapping[str, Collection[str]] = field(default_factory=dict)
    place_groups: Mapping[str, Collection[str]] = field(default_factory=dict)
    lookup: Callable[[str], ItemSnapshot | None] | None = None
    check_places: bool = False


# --- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a line or a receipt changed: the promotion and a sentence for the cashier and the receipt."""

    promotion_id: str
    promotion_name: str
    text_ru: str
    text_en: str


@dataclass(frozen=True)
class LinePromo:
    """What the promotions did to one of the receipt's lines."""

    discount: int = 0  # kopecks wanted, already within min price and max discount
    rate_bp: int = 0  # the rate it came from (0: a promotion price)
    discount_reason: Reason | None = None
    capped: bool = False  # cut to the item's max discount or min price
    bonus_bp: int = 0
    bonus_reason: Reason | None = None
    removed: Reason | None = None  # DO_GROUP_DELETE / DO_GROUP_DIVPOS: the line counts for nothing
    no_discount: Reason | None = None  # DO_GROUP_SET_PROPERTY [no_discount=1]


NO_EFFECT = LinePromo()


@dataclass(frozen=True)
class AddedLine:
    """A line a promotion adds: the item, its quantity and its promotion discount."""

    item: ItemSnapshot
    quantity: int
    price: int
    discount: int
    rate_bp: int
    bonus_bp: int
    reason: Reason


@dataclass(frozen=True)
class Problem:
    """A promotion skipped because it could not be evaluated: log it, show it in the simulator."""

    promotion_id: str
    promotion_name: str
    message_ru: str
    message_en: str


@dataclass(frozen=True)
class Evaluation:
    lines: tuple[LinePromo, ...]  # by input line
    added: tuple[AddedLine, ...] = ()
    deny_discount_card: Reason | None = None
    deny_bonus_card: Reason | None = None
    deny_bonus_discount: Reason | None = None
    head_bonus_bp: int | None = None
    head_bonus_reason: Reason | None = None
    prize_system: str | None = None
    prize_reason: Reason | None = None
    applied: tuple[Reason, ...] = ()  # the promotions whose conditions held, in order
    problems: tuple[Problem, ...] = ()


# --- the set of promotions, indexed ------------------------------------------------------------


class _Skip(Exception):
    def __init__(self, ru: str, en: str):
        super().__init__(en)
        self.ru, self.en = ru, en


@dataclass
class _Compiled:
    promo: Promotion
    order: int
    code_sets: dict[int, frozenset[str]]  # id(CodeFilter) -> the codes/groups it names
    problem: _Skip | None = None


class PromotionSet:
    """Parsed promotions, with goods lists resolved and an index by the codes/groups they filter on.

    A promotion whose every effect acts on filters that start from a plain code list (no ``NOT``,
    no ``*``) can only do something when a line of the receipt has one of those codes or groups:
    it is looked up by them, so a receipt costs time for the promotions that can touch it, not
    for all of them. Build it once per promotion download; it is immutable.
    """

    def __init__(self, promotions: Iterable[Promotion], goods_lists: Mapping[str, Collection[str]] | None = None):
        self.promotions = tuple(promotions)
        lists = {name: frozenset(str(c) for c in codes) for name, codes in (goods_lists or {}).items()}
        self._compiled: list[_Compiled] = []
        self._by_key: dict[str, list[int]] = {}
        self._always: list[int] = []
        for order, promo in enumerate(self.promotions):
            compiled = _Compiled(promo, order, {})
            for command in promo.filters:
                if isinstance(command, CodeFilter) and not command.any:
                    if command.lists:
                        codes: set[str] = set()
                        for name in command.entries:
                            if name not in lists:
                                compiled.problem = _Skip(f"нет списка товаров «{name}»", f"no goods list '{name}'")
                                break
                            codes |= lists[name]
                        compiled.code_sets[id(command)] = frozenset(codes)
                    else:
                        compiled.code_sets[id(command)] = frozenset(command.entries)
            self._compiled.append(compiled)
            gate = None if compiled.problem or promo.stage is None else self._gate(compiled)
            if promo.stage is None:
                continue
            if gate is None:
                self._always.append(order)
            else:
                for key in gate:
                    self._by_key.setdefault(key, []).append(order)

    @staticmethod
    def _gate(compiled: _Compiled) -> frozenset[str] | None:
        """The keys one of which a receipt line must have for the promotion to do anything, or None."""
        promo = compiled.promo
        if not promo.effects or not all(isinstance(e, GROUP_EFFECTS) for e in promo.effects):
            return None
        keys: set[str] = set()
        for effect in promo.effects:
            gates = [compiled.code_sets[id(f)] for f in promo.filters
                     if isinstance(f, CodeFilter) and f.var == effect.var and not f.negate and not f.any]  # fmt: skip
            if not gates:
                return None
            keys |= min(gates, key=len)
        return frozenset(keys)

    def __len__(self) -> int:
        return len(self.promotions)

    def candidates(self, keys: Iterable[str]) -> list[_Compiled]:
        """The promotions that may act on a receipt whose lines have these codes/groups, in set order."""
        chosen = set(self._always)
        by_key = self._by_key
        for key in keys:
            hits = by_key.get(key)
            if hits:
                chosen.update(hits)
        compiled = self._compiled
        return [compiled[i] for i in sorted(chosen)]


def targets_place(promo: Promotion, place: str, place_groups: Mapping[str, Collection[str]]) -> bool:
    """Whether a promotion is for this shop (``IF_PLACE_IN``): the server uses it to choose what a till gets.

    Several ``IF_PLACE_IN`` lines must all hold. Places compare as text ("7" is "7"); a place group
    lists place ids. An unknown place group holds no place.
    """
    place = str(place)
    for command in promo.conditions:
        if isinstance(command, PlaceCondition) and _place_in(command, place, place_groups) == command.negate:
            return False
    return True


def _place_in(command: PlaceCondition, place: str, place_groups: Mapping[str, Collection[str]]) -> bool:
    if command.groups:
        return any(place in {str(p) for p in place_groups.get(name, ())} for name in command.entries)
    return place in command.entries


# --- a receipt as promotions see it -----------------------------------------------------------


@dataclass
class _Line:
    index: int
    line: LineInput
    keys: tuple[str, ...]
    amount: int
    props: Mapping[str, str]
    allowed: int  # the most a promotion may take off: max discount, min price, no-discount mark
    discount: int = 0  # after calculation (AFTER_CALC)
    bonus: int = 0


class _View:
    """The active lines (not storno, not return lines, not removed) and the header, for one stage."""

    def __init__(self, facts: ReceiptFacts, removed: Collection[int] = (), calc=None, bonus_bp: Sequence[int] = ()):
        self.facts = facts
        lines = []
        index: dict[str, list[int]] = {}
        props_by_line = facts.line_properties
        groups_by_line = facts.line_groups
        for i, line in enumerate(facts.lines):
            if line.storno or line.fixed_total is not None or i in removed:
                continue
            item = line.item
            keys = (item.code,) if not item.group_code else (item.code, item.group_code)
            if i < len(groups_by_line) and groups_by_line[i]:
                keys = tuple(dict.fromkeys((*keys, *groups_by_line[i])))
            amount = line_amount(line.price, line.quantity)
            view_line = _Line(i, line, keys, amount, props_by_line[i] if i < len(props_by_line) else {},
                              _allowed(line, amount))  # fmt: skip
            if calc is not None:
                result = calc.lines[i]
                view_line.discount = result.discount
                if i < len(bonus_bp) and bonus_bp[i]:
                    view_line.bonus = rate_of(result.total, bonus_bp[i])
            lines.append(view_line)
            for key in keys:
                index.setdefault(key, []).append(len(lines) - 1)
        self.lines = lines
        self.index = index
        self.summa = sum(vl.amount for vl in lines) if calc is None else calc.amount
        self.total = self.summa if calc is None else calc.total
        self.discount = 0 if calc is None else calc.discount

    def head(self, name: str):
        """A receipt-level field (``HEAD_FIELDS`` of the parser) of this view."""
        getter = _HEAD_VALUES.get(name)
        if getter is None:
            raise AssertionError(name)
        return getter(self)


# One getter a field name: the evaluator's side of the parser's LINE_FIELDS, HEAD_FIELDS and GROUP_FIELDS.
_HEAD_VALUES: dict[str, Callable[[_View], object]] = {
    "summa": lambda view: view.summa,
    "total": lambda view: view.total,
    "discount": lambda view: view.discount,
    "card": lambda view: view.facts.card,
    "card_rate": lambda view: view.facts.card_rate_bp,
    "bonus_card": lambda view: view.facts.bonus_card,
    "place": lambda view: str(view.facts.place),
    "kassa": lambda view: str(view.facts.kassa),
    "type": lambda view: 1 if view.facts.kind is ReceiptKind.RETURN else 0,
    "lines": lambda view: len(view.lines),
    "quantity": lambda view: sum(vl.line.quantity for vl in view.lines),
    "weekday": lambda view: view.facts.moment.isoweekday(),
    "time": lambda view: view.facts.moment.hour * 60 + view.facts.moment.minute,
}

_LINE_VALUES: dict[str, Callable[[_Line], object]] = {
    "code": lambda vl: vl.line.item.code,
    "group": lambda vl: vl.line.item.group_code or "",
    "price": lambda vl: vl.line.price,
    "quantity": lambda vl: vl.line.quantity,
    "sum": lambda vl: vl.amount,
    "alcohol": lambda vl: int(vl.line.item.alcohol),
    "department": lambda vl: vl.line.item.department,
    "min_price": lambda vl: vl.line.item.min_price,
    "max_price": lambda vl: vl.line.item.max_price,
    "max_discount": lambda vl: vl.line.item.max_discount_bp,
    "no_discount": lambda vl: int(vl.line.item.no_discount),
    "weighed": lambda vl: int(vl.line.item.weighed),
    "litres": lambda vl: vl.line.item.litres_ml,
    "barcode": lambda vl: vl.line.item.barcode,
    "name": lambda vl: vl.line.item.name,
}

_GROUP_VALUES: dict[str, Callable[[list[_Line]], int]] = {
    "quantity": lambda lines: sum(vl.line.quantity for vl in lines),
    "sum": lambda lines: sum(vl.amount for vl in lines),
    "count": len,
    "mean_price": lambda lines: div_half_up(sum(vl.line.price for vl in lines), len(lines)) if lines else 0,
    "discount": lambda lines: sum(vl.discount for vl in lines),
    "bonus": lambda lines: sum(vl.bonus for vl in lines),
    "litres": lambda lines: sum(div_half_up(vl.line.item.litres_ml * vl.line.quantity, QTY_SCALE) for vl in lines),
}


def _line_value(vl: _Line, name: str):
    getter = _LINE_VALUES.get(name)
    if getter is None:
        raise AssertionError(name)
    return getter(vl)


def _aggregates(lines: list[_Line], name: str) -> int:
    getter = _GROUP_VALUES.get(name)
    if getter is None:
        raise AssertionError(name)
    return getter(lines)


def _free_number(text: str) -> int | None:
    try:
        return parse_quantity(text)
    except ValueError:
        return None


_ORDER = {
    "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}  # fmt: skip


def _compare(op: str, actual, value) -> bool:
    # FIX: the original stopped checking at the first `in` condition, whatever its result: every
    # condition after it was ignored. Here each condition is checked, and all must hold.
    if op == "in":
        return any(_compare("=", actual, alt) for alt in value)
    return _ORDER[op](actual, value)


def _free_compare(op: str, actual: str, value) -> bool:
    """prop.NAME / sets.NAME: numbers compare as numbers (to the thousandth), other text as text (= <> in)."""
    if op == "in":
        return any(_free_compare("=", actual, alt) for alt in value)
    a, b = _free_number(actual), _free_number(value)
    if a is not None and b is not None:
        return _ORDER[op](a, b)
    if op in ("=", "<>"):
        return _ORDER[op](actual.strip(), value.strip())
    return False


def _holds(cond: Condition, actual, context: PromoContext, props: Mapping[str, str] | None) -> bool:
    ref = cond.field
    if ref.source == "sets":
        if ref.key not in context.variables:
            raise _Skip(f"переменная sets.{ref.key} не задана", f"variable sets.{ref.key} is not set")
        return _free_compare(cond.op, str(context.variables[ref.key]), cond.value)
    if ref.source == "prop":
        value = (props or {}).get(ref.key)
        return value is not None and _free_compare(cond.op, str(value), cond.value)
    if ref.kind is Kind.FREE:  # pragma: no cover - own fields are typed
        return _free_compare(cond.op, str(actual), cond.value)
    return _compare(cond.op, actual, cond.value)


def _line_holds(vl: _Line, conditions: tuple[Condition, ...], context: PromoContext) -> bool:
    for cond in conditions:
        actual = None if cond.field.source != "own" else _line_value(vl, cond.field.name)
        if not _holds(cond, actual, context, vl.props):
            return False
    return True


def _resolve(rate: Rate, context: PromoContext) -> int:
    """A rate in basis points; a variable's value is read as percent (``25`` or ``25%``)."""
    if rate.variable is None:
        return rate.bp
    if rate.variable not in context.variables:
        raise _Skip(f"переменная sets.{rate.variable} не задана", f"variable sets.{rate.variable} is not set")
    text = str(context.variables[rate.variable]).strip()
    try:
        bp = parse_rate(text.removesuffix("%"))
    except ValueError:
        raise _Skip(f"переменная sets.{rate.variable} = «{text}» — не процент",
                    f"variable sets.{rate.variable} = '{text}' is not a percentage") from None  # fmt: skip
    if bp < 0 or bp > 10_000:
        raise _Skip(f"переменная sets.{rate.variable} = {text}: ставка вне 0–100%",
                    f"variable sets.{rate.variable} = {text}: rate outside 0–100%")  # fmt: skip
    return bp


def _pct(bp: int) -> str:
    whole, frac = divmod(bp, 100)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


def _allowed(line: LineInput, amount: int) -> int:
    """The most a promotion may take off a line: nothing on "no discount" items, at most the item's
    max discount, never below its min price."""
    item = line.item
    if item.no_discount:
        return 0
    floor = div_ceil(item.min_price * line.quantity, QTY_SCALE)
    return min(rate_of(amount, item.max_discount_bp), max(0, amount - floor))


def cap_discount(line: LineInput, wanted: int) -> tuple[int, bool]:
    """A promotion's discount as the item allows it (see ``_allowed``): (allowed, whether it was cut)."""
    if wanted <= 0:
        return 0, False
    allowed = _allowed(line, line_amount(line.price, line.quantity))
    return min(wanted, allowed), wanted > allowed


def _rate_of(amount: int, bp: int) -> int:
    """``money.rate_of`` for a non-negative amount and rate, without its general sign handling (hot path)."""
    return (amount * bp + 5000) // 10000


# --- running one promotion ---------------------------------------------------------------------


@dataclass
class _Outcome:
    """What one promotion would do; merged only if the whole promotion ran without a problem."""

    held: bool = False
    # (line, kopecks, bp, capped, reason maker): reasons are made only for the discounts that win
    discounts: list[tuple[int, int, int, bool, Callable[[bool], Reason]]] = field(default_factory=list)
    head_discount: tuple[int, Callable[[bool], Reason]] | None = None  # DO_SET_HEAD_DISCOUNT: a rate for every line
    bonuses: list[tuple[int, int, Reason]] = field(default_factory=list)
    removed: list[tuple[int, Reason]] = field(default_factory=list)
    no_discount: list[tuple[int, Reason]] = field(default_factory=list)
    added: list[AddedLine] = field(default_factory=list)
    deny: dict[str, Reason] = field(default_factory=dict)
    head_bonus: tuple[int, Reason] | None = None
    head_bonus_otherwise: tuple[int, Reason] | None = None
    prize: tuple[str, Reason] | None = None


def _reason(promo: Promotion, ru: str, en: str) -> Reason:
    return Reason(promo.id, promo.name, f"Акция «{promo.name}»: {ru}", f"Promotion '{promo.name}': {en}")


def _filter_lines(compiled: _Compiled, view: _View, context: PromoContext) -> dict[str, list[_Line]]:
    sets: dict[str, list[_Line]] = {}
    for command in compiled.promo.filters:
        if isinstance(command, FiltersGroup):
            continue
        current = sets.get(command.var)
        if isinstance(command, CodeFilter):
            if command.any:
                chosen = list(view.lines) if current is None else current
                if command.negate:
                    chosen = []
            else:
                codes = compiled.code_sets[id(command)]
                if current is None and not command.negate:
                    found: set[int] = set()
                    index = view.index
                    if len(codes) < len(index):
                        for code in codes:
                            hits = index.get(code)
                            if hits:
                                found.update(hits)
                    else:
                        for key, hits in index.items():
                            if key in codes:
                                found.update(hits)
                    chosen = [view.lines[i] for i in sorted(found)]
                else:
                    pool = view.lines if current is None else current
                    chosen = [vl for vl in pool if any(k in codes for k in vl.keys) != command.negate]
        else:  # PropertyFilter
            pool = view.lines if current is None else current
            chosen = [vl for vl in pool if _line_holds(vl, command.conditions, context)]
        sets[command.var] = chosen
    return sets


def _conditions_hold(compiled: _Compiled, view: _View, sets: dict[str, list[_Line]], context: PromoContext) -> bool:
    for command in compiled.promo.conditions:
        if isinstance(command, HeadCondition):
            for cond in command.conditions:
                actual = view.head(cond.field.name) if cond.field.source == "own" else None
                if not _holds(cond, actual, context, view.facts.properties):
                    return False
        elif isinstance(command, GroupCondition):
            lines = sets.get(command.var, [])
            for cond in command.conditions:
                actual = _aggregates(lines, cond.field.name) if cond.field.source == "own" else None
                if not _holds(cond, actual, context, None):
                    return False
        elif isinstance(command, PlaceCondition):
            if context.check_places and _place_in(command, str(view.facts.place), context.place_groups) == command.negate:
                return False
    return True


def _added(promo: Promotion, code: str, quantity: int, fields: Fields, context: PromoContext, bonus_card: bool,
           ru: str, en: str) -> AddedLine:  # fmt: skip
    """The line a promotion adds, or a _Skip: unknown or alcohol item, a fraction of a piece item, no price."""
    item = context.lookup(code) if context.lookup is not None else None
    if item is None:
        raise _Skip(f"товара с кодом {code} нет в каталоге", f"no item with code {code} in the catalogue")
    if item.alcohol:
        # Alcohol is never added (nor given away) by a promotion: it needs its own excise mark
        # scanned, and gifts of alcohol are not allowed.
        raise _Skip(f"«{item.name}» — алкоголь: акция не может его добавить", f"'{item.name}' is alcohol: a promotion cannot add it")
    if not item.weighed and quantity % QTY_SCALE:
        raise _Skip(f"«{item.name}» продаётся поштучно, а добавить нужно {format_quantity(quantity)}",
                    f"'{item.name}' is sold by the piece, but {format_quantity(quantity)} would be added")  # fmt: skip
    if quantity > 99_999_999:
        raise _Skip("слишком большое количество добавляемого товара", "the quantity to add is too large")
    price = item.price if item.price > 0 else (fields.price or 0)
    if price <= 0:
        raise _Skip(f"у товара {code} нет цены", f"item {code} has no price")
    line = LineInput(item=item, quantity=quantity, price=price)
    discount, rate_bp, capped = _fields_discount(line, fields, context)
    bonus = _resolve(fields.bonus, context) if fields.bonus is not None and bonus_card and not item.no_discount else 0
    extra_ru = extra_en = ""
    if discount:
        extra_ru = f", скидка {format_money(discount)} ₽"
        extra_en = f", {format_money(discount)} ₽ off"
    reason = _reason(promo, f"добавлено {format_quantity(quantity)} × «{item.name}» ({ru}){extra_ru}",
                     f"added {format_quantity(quantity)} × '{item.name}' ({en}){extra_en}")  # fmt: skip
    return AddedLine(item, quantity, price, discount, rate_bp, bonus, reason)


def _fields_discount(line: LineInput, fields: Fields, context: PromoContext) -> tuple[int, int, bool]:
    """The discount a [price=…, discount=…] asks for on a line: the larger of the two, capped."""
    wanted, rate_bp = 0, 0
    if fields.discount is not None:
        rate_bp = _resolve(fields.discount, context)
        wanted = rate_of(line_amount(line.price, line.quantity), rate_bp)
    if fields.price is not None:
        by_price = line_amount(line.price, line.quantity) - line_amount(fields.price, line.quantity)
        if by_price > wanted:
            wanted, rate_bp = by_price, 0
    allowed, capped = cap_discount(line, wanted)
    return allowed, rate_bp, capped


def _discount_reason(promo: Promotion, bp: int, price: int | None, label: str = "") -> Callable[[bool], Reason]:
    """A maker of the reason for a discount, capped or not; called only for the discounts that win."""

    def make(capped: bool) -> Reason:
        what_ru = f"скидка {_pct(bp)}" if price is None else f"цена {format_money(price)} ₽"
        what_en = f"{_pct(bp)} off" if price is None else f"price {format_money(price)} ₽"
        if label:
            what_ru += f" ({label})"
            what_en += f" ({label})"
        if capped:
            what_ru += ", ограничена правилами товара (макс. скидка, мин. цена)"
            what_en += ", limited by the item's rules (max discount, min price)"
        return _reason(promo, what_ru, what_en)

    return make


def _run(compiled: _Compiled, view: _View, facts: ReceiptFacts, context: PromoContext) -> _Outcome:
    promo = compiled.promo
    if compiled.problem is not None:
        raise compiled.problem
    sets = _filter_lines(compiled, view, context)
    out = _Outcome()
    out.held = _conditions_hold(compiled, view, sets, context)
    if not out.held:
        for effect in promo.effects:
            if isinstance(effect, HeadBonus) and isinstance(effect.otherwise, Rate):
                bp = _resolve(effect.otherwise, context)
                out.head_bonus_otherwise = (bp, _reason(promo, f"не действует: бонус {_pct(bp)}", f"not in force: bonus {_pct(bp)}"))
        return out
    for effect in promo.effects:
        if isinstance(effect, GroupDiscount):
            bp = _resolve(effect.rate, context)
            make = _discount_reason(promo, bp, None, effect.label)
            append = out.discounts.append
            for vl in sets.get(effect.var, ()):
                wanted = _rate_of(vl.amount, bp)
                if wanted > vl.allowed:
                    append((vl.index, vl.allowed, bp, True, make))
                elif wanted:
                    append((vl.index, wanted, bp, False, make))
        elif isinstance(effect, HeadDiscount):
            bp = _resolve(effect.rate, context)
            if out.head_discount is None or bp > out.head_discount[0]:
                out.head_discount = (bp, _discount_reason(promo, bp, None, effect.label))
        elif isinstance(effect, GroupBonus):
            if not facts.bonus_card:
                continue  # as the original: promotion bonus rates need a bonus card on the receipt
            bp = _resolve(effect.rate, context)
            reason = _reason(promo, f"бонус {_pct(bp)}", f"bonus {_pct(bp)}")
            for vl in sets.get(effect.var, ()):
                if not vl.line.item.no_discount:
                    out.bonuses.append((vl.index, bp, reason))
        elif isinstance(effect, GroupSetProperty):
            fields = effect.fields
            for vl in sets.get(effect.var, ()):
                if fields.no_discount:
                    out.no_discount.append((vl.index, _reason(promo, "без скидки", "no discount")))
                if fields.price is not None or fields.discount is not None:
                    allowed, bp, capped = _fields_discount(vl.line, fields, context)
                    if allowed or capped:
                        out.discounts.append((vl.index, allowed, bp, capped, _discount_reason(promo, bp, fields.price if not bp else None)))
                if fields.bonus is not None and facts.bonus_card and not vl.line.item.no_discount:
                    bp = _resolve(fields.bonus, context)
                    out.bonuses.append((vl.index, bp, _reason(promo, f"бонус {_pct(bp)}", f"bonus {_pct(bp)}")))
        elif isinstance(effect, GroupDelete):
            for vl in sets.get(effect.var, ()):
                out.removed.append((vl.index, _reason(promo, "строка исключена из чека", "line taken off the receipt")))
        elif isinstance(effect, GroupAddPos):
            total = sum(vl.line.quantity for vl in sets.get(effect.var, ()))
            times = total // effect.per
            if times:
                added = _added(promo, effect.code, times * effect.count, effect.fields, context, bool(facts.bonus_card),
                               f"{format_quantity(effect.count)} за каждые {format_quantity(effect.per)}",
                               f"{format_quantity(effect.count)} for every {format_quantity(effect.per)}")  # fmt: skip
                out.added.append(added)
        elif isinstance(effect, SummaAddPos):
            times = view.summa // effect.summa if promo.stage is Stage.BEFORE_CALC else view.total // effect.summa
            if times:
                added = _added(promo, effect.code, times * effect.count, effect.fields, context, bool(facts.bonus_card),
                               f"{format_quantity(effect.count)} за каждые {format_money(effect.summa)} ₽",
                               f"{format_quantity(effect.count)} for every {format_money(effect.summa)} ₽")  # fmt: skip
                out.added.append(added)
        elif isinstance(effect, GroupDivPos):
            lines = sets.get(effect.var, ())
            total = sum(vl.line.quantity for vl in lines)
            if not total:
                continue
            packs = total // effect.count * effect.count
            rest = total - packs
            if packs:
                added = _added(promo, effect.code, packs, effect.fields, context, bool(facts.bonus_card),
                               f"упаковки по {format_quantity(effect.count)}", f"packs of {format_quantity(effect.count)}")  # fmt: skip
                out.added.append(added)
            if rest:
                added = _added(promo, effect.code, rest, Fields(), context, False, "остаток", "the rest")
                out.added.append(added)
            for vl in lines:
                out.removed.append((vl.index, _reason(promo, f"переупаковано в товар {effect.code}", f"re-packed as item {effect.code}")))
        elif isinstance(effect, DenyDiscountCard):
            out.deny.setdefault("discount_card", _reason(promo, "дисконтная карта не действует", "the discount card does not apply"))
        elif isinstance(effect, DenyBonusCard):
            out.deny.setdefault("bonus_card", _reason(promo, "бонусная карта не действует", "the bonus card does not apply"))
        elif isinstance(effect, DenyBonusDiscount):
            out.deny.setdefault("bonus_discount", _reason(promo, "оплата бонусами запрещена", "paying with bonus is not allowed"))
        elif isinstance(effect, HeadBonus):
            bp = _resolve(effect.rate, context)
            out.head_bonus = (bp, _reason(promo, f"бонус на чек {_pct(bp)}", f"bonus on the receipt {_pct(bp)}"))
        elif isinstance(effect, PrizeGen):
            out.prize = (effect.system, _reason(promo, f"розыгрыш приза ({effect.system})", f"prize draw ({effect.system})"))
    return out


# --- merging ---------------------------------------------------------------------------------


class _Merge:
    """The promotions' outcomes combined, in promotion order: ties go to the earlier promotion."""

    def __init__(self, size: int, view: _View):
        self.view_lines = view.lines
        self.order = 0
        self.head_discount: tuple[int, int, Callable[[bool], Reason]] | None = None  # (bp, order, maker)
        self.discount: list[tuple[int, int, int, bool, Callable[[bool], Reason]] | None] = [None] * size
        self.bonus: list[tuple[int, Reason] | None] = [None] * size
        self.removed: list[Reason | None] = [None] * size
        self.no_discount: list[Reason | None] = [None] * size
        self.added: list[AddedLine] = []
        self.deny: dict[str, Reason] = {}
        self.head_bonus: tuple[int, Reason] | None = None
        self.head_bonus_otherwise: tuple[int, Reason] | None = None
        self.prize: tuple[str, Reason] | None = None
        self.applied: list[Reason] = []
        self.problems: list[Problem] = []

    def add(self, promo: Promotion, out: _Outcome) -> None:
        if out.head_bonus_otherwise and (self.head_bonus_otherwise is None or out.head_bonus_otherwise[0] > self.head_bonus_otherwise[0]):
            self.head_bonus_otherwise = out.head_bonus_otherwise
        if not out.held:
            return
        self.order += 1
        order = self.order
        self.applied.append(Reason(promo.id, promo.name, f"Акция «{promo.name}»", f"Promotion '{promo.name}'"))
        discount = self.discount
        for index, amount, bp, capped, make in out.discounts:
            current = discount[index]
            if current is None or amount > current[0]:
                discount[index] = (amount, order, bp, capped, make)
        if out.head_discount is not None and (self.head_discount is None or out.head_discount[0] > self.head_discount[0]):
            self.head_discount = (out.head_discount[0], order, out.head_discount[1])
        for index, bp, reason in out.bonuses:
            current = self.bonus[index]
            if current is None or bp > current[0]:
                self.bonus[index] = (bp, reason)
        for index, reason in out.removed:
            if self.removed[index] is None:
                self.removed[index] = reason
        for index, reason in out.no_discount:
            if self.no_discount[index] is None:
                self.no_discount[index] = reason
        self.added.extend(out.added)
        for key, reason in out.deny.items():
            self.deny.setdefault(key, reason)
        if out.head_bonus and (self.head_bonus is None or out.head_bonus[0] > self.head_bonus[0]):
            self.head_bonus = out.head_bonus
        if out.prize and self.prize is None:
            self.prize = out.prize

    def _with_head_discount(self) -> list:
        """The line discounts with DO_SET_HEAD_DISCOUNT's largest rate on every active line where it beats the line's own."""
        discount = list(self.discount)
        if self.head_discount is None:
            return discount
        bp, order, make = self.head_discount
        for vl in self.view_lines:
            wanted = _rate_of(vl.amount, bp)
            capped = wanted > vl.allowed
            amount = vl.allowed if capped else wanted
            if not amount and not capped:
                continue
            current = discount[vl.index]
            if current is None or amount > current[0] or (amount == current[0] and order < current[1]):
                discount[vl.index] = (amount, order, bp, capped, make)
        return discount

    def evaluation(self) -> Evaluation:
        discounts = self._with_head_discount()
        made: dict[tuple[int, bool], Reason] = {}
        lines = []
        for i in range(len(self.discount)):
            removed, no_discount, discount, bonus = self.removed[i], self.no_discount[i], discounts[i], self.bonus[i]
            if removed is None and no_discount is None and discount is None and bonus is None:
                lines.append(NO_EFFECT)
                continue
            if removed is not None:
                lines.append(LinePromo(removed=removed))
                continue
            if no_discount is not None:
                lines.append(LinePromo(no_discount=no_discount))
                continue
            reason = None
            amount, bp, capped = 0, 0, False
            if discount is not None:
                amount, _, bp, capped, make = discount
                key = (id(make), capped)
                reason = made.get(key)
                if reason is None:
                    reason = made[key] = make(capped)
            bonus_bp, bonus_reason = bonus if bonus is not None else (0, None)
            lines.append(LinePromo(amount, bp, reason, capped, bonus_bp, bonus_reason))
        head_bonus = self.head_bonus or self.head_bonus_otherwise
        return Evaluation(
            lines=tuple(lines),
            added=tuple(self.added),
            deny_discount_card=self.deny.get("discount_card"),
            deny_bonus_card=self.deny.get("bonus_card"),
            deny_bonus_discount=self.deny.get("bonus_discount"),
            head_bonus_bp=head_bonus[0] if head_bonus else None,
            head_bonus_reason=head_bonus[1] if head_bonus else None,
            prize_system=self.prize[0] if self.prize else None,
            prize_reason=self.prize[1] if self.prize else None,
            applied=tuple(self.applied),
            problems=tuple(self.problems),
        )


def _run_all(candidates: list[_Compiled], view: _View, facts: ReceiptFacts, context: PromoContext, merge: _Merge) -> None:
    for compiled in candidates:
        promo = compiled.promo
        try:
            out = _run(compiled, view, facts, context)
        except _Skip as skip:
            merge.problems.append(Problem(promo.id, promo.name, f"Акция «{promo.name}» пропущена: {skip.ru}",
                                          f"Promotion '{promo.name}' skipped: {skip.en}"))  # fmt: skip
            continue
        except Exception as error:  # noqa: BLE001 - a promotion must never fail a sale
            merge.problems.append(Problem(promo.id, promo.name,
                                          f"Акция «{promo.name}» пропущена: внутренняя ошибка {type(error).__name__}",
                                          f"Promotion '{promo.name}' skipped: internal error {type(error).__name__}: {error}"))  # fmt: skip
            continue
        merge.add(promo, out)


def evaluate(facts: ReceiptFacts, promotions: PromotionSet | Iterable[Promotion], context: PromoContext | None = None) -> Evaluation:
    """What the promotions do to this receipt at ``facts.moment``. Never raises for a promotion's sake.

    Return receipts take no promotions (they give back what was paid, line by line).
    """
    context = context or PromoContext()
    size = len(facts.lines)
    try:
        if not isinstance(promotions, PromotionSet):
            promotions = PromotionSet(promotions, context.goods_lists)
        if facts.kind is ReceiptKind.RETURN or not len(promotions):
            return Evaluation(lines=(NO_EFFECT,) * size)
        return _evaluate(facts, promotions, context, size)
    except Exception as error:  # noqa: BLE001 - the last guard: promotions must never fail a sale
        return Evaluation(lines=(NO_EFFECT,) * size, problems=(Problem(
            "", "", f"Акции не применены: внутренняя ошибка {type(error).__name__}",
            f"Promotions not applied: internal error {type(error).__name__}: {error}"),))  # fmt: skip


def _evaluate(facts: ReceiptFacts, promotions: PromotionSet, context: PromoContext, size: int) -> Evaluation:
    from .bridge import apply_evaluation  # the AFTER_CALC stage calculates the receipt in between

    view = _View(facts)
    day, now = facts.moment.date(), facts.moment.time()
    # FIX: the original chose the day's promotions once, when it loaded them, and never looked at
    # the time window; here the schedule is checked at the receipt's own moment.
    candidates = [c for c in promotions.candidates(view.index) if c.promo.schedule.active_at(day, now)]
    before = [c for c in candidates if c.promo.stage is Stage.BEFORE_CALC]
    after = [c for c in candidates if c.promo.stage is Stage.AFTER_CALC]
    merge = _Merge(size, view)
    _run_all(before, view, facts, context, merge)
    if after:
        first = merge.evaluation()
        lines, card_rate = apply_evaluation(facts.lines, facts.card_rate_bp, first)
        calc = calculate(lines, card_rate)
        removed = {i for i, lp in enumerate(first.lines) if lp.removed is not None}
        bonus = [lp.bonus_bp for lp in first.lines]
        after_view = _View(facts, removed, calc, bonus)  # its summa, total and discount: the calculation's
        _run_all(after, after_view, facts, context, merge)
    return merge.evaluation()
