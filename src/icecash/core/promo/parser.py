"""The parser of the promotions ("Акции") language: text in, a :class:`Promotion` or a positioned error out.

A promotion has an ``if`` text (conditions, ``SET``) and a ``then`` text (filters, effects, ``SET``).
Each non-empty line is one command; a line starting with ``#`` is a comment. Tokens: a bare word
(command name, ``NOT``, ``GROUPS``), ``{name}`` (a filter), ``(a,b,…)`` (a list), ``[k=v,…]``
(assignments). Unlike the original, spaces inside brackets are allowed, every line must parse, and
every error names its field (``if`` / ``then`` / a schedule field), line and column.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, time

from ..money import parse_money, parse_quantity, parse_rate
from .model import (
    CONDITIONS,
    FILTERS,
    GROUP_EFFECTS,
    CodeFilter,
    Command,
    Condition,
    DenyBonusCard,
    DenyBonusDiscount,
    DenyDiscountCard,
    FieldRef,
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
    PromoSyntaxError,
    PropertyFilter,
    Rate,
    Schedule,
    Stage,
    SummaAddPos,
)

OPERATORS = ("=", "<>", "<", ">", "<=", ">=", "in")

# Field names: canonical name -> kind; aliases are the original's column names.
LINE_FIELDS = {
    "code": Kind.TEXT, "group": Kind.TEXT, "price": Kind.MONEY, "quantity": Kind.QTY, "sum": Kind.MONEY,
    "alcohol": Kind.BOOL, "department": Kind.INT, "min_price": Kind.MONEY, "max_price": Kind.MONEY,
    "max_discount": Kind.RATE, "no_discount": Kind.BOOL, "weighed": Kind.BOOL, "litres": Kind.QTY,
    "barcode": Kind.TEXT, "name": Kind.TEXT,
}  # fmt: skip
LINE_ALIASES = {
    "p_idgroup": "group", "idgroup": "group", "paramf1": "price", "paramf2": "quantity", "paramf3": "sum",
    "amount": "sum", "p_alco": "alcohol", "alco": "alcohol", "p_section": "department", "section": "department",
    "p_minprice": "min_price", "minprice": "min_price", "p_maxprice": "max_price", "maxprice": "max_price",
    "p_max_skid": "max_discount", "max_skid": "max_discount", "p_real": "weighed", "real": "weighed",
    "p_litrag": "litres", "litrag": "litres", "p_shk": "barcode", "shk": "barcode", "p_name": "name",
}  # fmt: skip
HEAD_FIELDS = {
    "summa": Kind.MONEY, "total": Kind.MONEY, "discount": Kind.MONEY, "card": Kind.TEXT, "card_rate": Kind.RATE,
    "bonus_card": Kind.TEXT, "place": Kind.TEXT, "kassa": Kind.TEXT, "type": Kind.INT, "lines": Kind.INT,
    "quantity": Kind.QTY, "weekday": Kind.INT, "time": Kind.TIME,
}  # fmt: skip
HEAD_ALIASES = {
    "amount": "summa", "discount_card": "card", "discount_proc": "card_rate", "idplace": "place",
    "nkassa": "kassa", "discount_sum": "discount",
}  # fmt: skip
GROUP_FIELDS = {
    "quantity": Kind.QTY, "sum": Kind.MONEY, "mean_price": Kind.MONEY, "discount": Kind.MONEY, "bonus": Kind.MONEY,
    "litres": Kind.QTY, "count": Kind.INT,
}  # fmt: skip
GROUP_ALIASES = {"paramf1": "mean_price", "paramf2": "quantity", "paramf3": "sum", "p_litrag": "litres", "litrag": "litres"}
FIELD_TABLES = {
    "line": (LINE_FIELDS, LINE_ALIASES),
    "head": (HEAD_FIELDS, HEAD_ALIASES),
    "group": (GROUP_FIELDS, GROUP_ALIASES),
}
SET_FIELDS = {"price", "discount", "bonus", "no_discount"}
SET_ALIASES = {"discount_pos": "discount", "bonus_pos": "bonus", "cena": "price"}
MAX_TEXT = 100_000  # characters in one if/then text
_NAME = re.compile(r"\w[\w.\-]*\Z")

IF_COMMANDS = ("IF_HEAD_PROPERTY", "IF_GROUP_PROPERTY", "IF_PLACE_IN", "SET")
THEN_COMMANDS = (
    "DO_POS_CODE_IN", "DO_POS_PROPERTY", "DO_FILTERS_GROUP", "DO_GROUP_DISCOUNT", "DO_GROUP_BONUS",
    "DO_GROUP_ADDPOS_PROPORCIONAL", "DO_SUMMA_ADDPOS_PROPORCIONAL", "DO_GROUP_DIVPOS", "DO_GROUP_SET_PROPERTY",
    "DO_GROUP_DELETE", "DO_PRIZE_GEN", "DO_DENY_DISCOUNT_CARD", "DO_DENY_BONUS_CARD", "DO_DENY_BONUS_DISCOUNT",
    "DO_SET_HEAD_DISCOUNT", "DO_SET_HEAD_BONUS", "SET",
)  # fmt: skip
ALL_COMMANDS = tuple(dict.fromkeys(IF_COMMANDS + THEN_COMMANDS))


# --- tokens ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One element of a (…) or […] list, with its column."""

    text: str
    column: int


@dataclass(frozen=True)
class Token:
    kind: str  # word · var · list · assign
    text: str
    column: int
    items: tuple[Item, ...] = ()


class _Line:
    """The tokens of one command line, consumed left to right, with errors that know where they are."""

    def __init__(self, field: str, number: int, text: str):
        self.field = field
        self.number = number
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0

    def error(self, column: int, code: str, ru: str, en: str) -> PromoSyntaxError:
        return PromoSyntaxError(code, ru, en, self.field, self.number, column)

    def _tokenize(self, text: str) -> list[Token]:
        tokens: list[Token] = []
        i, n = 0, len(text)
        closing = {"(": ")", "[": "]", "{": "}"}
        while i < n:
            ch = text[i]
            if ch.isspace():
                i += 1
                continue
            if ch in closing:
                end = text.find(closing[ch], i + 1)
                if end < 0:
                    raise self.error(i + 1, "unclosed_bracket", f"нет закрывающей «{closing[ch]}» для «{ch}»",
                                     f"no closing '{closing[ch]}' for '{ch}'")  # fmt: skip
                inner = text[i + 1:end]
                for bad in "({[":
                    at = inner.find(bad)
                    if at >= 0:
                        raise self.error(i + 2 + at, "nested_bracket", f"«{bad}» внутри скобок", f"'{bad}' inside brackets")
                if ch == "{":
                    name = inner.strip()
                    if not _NAME.match(name):
                        raise self.error(i + 1, "bad_filter_name", f"недопустимое имя фильтра «{inner}»",
                                         f"bad filter name '{inner}'")  # fmt: skip
                    tokens.append(Token("var", name, i + 1))
                else:
                    tokens.append(Token("list" if ch == "(" else "assign", inner, i + 1, self._items(inner, i + 2)))
                i = end + 1
                continue
            if ch in ")]}":
                raise self.error(i + 1, "stray_bracket", f"лишняя «{ch}»", f"unexpected '{ch}'")
            start = i
            while i < n and not text[i].isspace() and text[i] not in "()[]{}":
                i += 1
            tokens.append(Token("word", text[start:i], start + 1))
        return tokens

    def _items(self, inner: str, column: int) -> tuple[Item, ...]:
        if not inner.strip():
            return ()
        items = []
        offset = 0
        for part in inner.split(","):
            stripped = part.strip()
            lead = len(part) - len(part.lstrip())
            if not stripped:
                raise self.error(column + offset, "empty_item", "пустой элемент списка", "empty list item")
            items.append(Item(stripped, column + offset + lead))
            offset += len(part) + 1
        return tuple(items)

    # --- consuming ---

    def end_column(self) -> int:
        return len(self.text.rstrip()) + 1

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str, what_ru: str, what_en: str) -> Token:
        token = self.peek()
        if token is None or token.kind != kind:
            column = token.column if token else self.end_column()
            got = f"«{token.text if token.kind == 'word' else _SHAPES[token.kind]}»" if token else "конец строки"
            got_en = f"'{token.text if token.kind == 'word' else _SHAPES[token.kind]}'" if token else "end of line"
            raise self.error(column, "expected", f"ожидается {what_ru}, а здесь {got}", f"expected {what_en}, got {got_en}")
        self.pos += 1
        return token

    def flag(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text == word:
            self.pos += 1
            return True
        return False

    def done(self) -> None:
        token = self.peek()
        if token is not None:
            raise self.error(token.column, "extra_token", f"лишнее в конце команды: «{self.text[token.column - 1:].strip()}»",
                             f"unexpected text after the command: '{self.text[token.column - 1:].strip()}'")  # fmt: skip


_SHAPES = {"var": "{…}", "list": "(…)", "assign": "[…]", "word": "…"}


# --- values ----------------------------------------------------------------------------------


def _number(kind: Kind, text: str) -> int:
    """A typed number from text, or ValueError."""
    if kind is Kind.MONEY:
        return parse_money(text)
    if kind is Kind.QTY:
        return parse_quantity(text)
    if kind is Kind.RATE:
        return parse_rate(text.removesuffix("%"))
    if kind is Kind.INT:
        if not re.fullmatch(r"[+-]?\d{1,18}", text.strip()):
            raise ValueError("not an integer")
        return int(text)
    if kind is Kind.BOOL:
        value = text.strip().lower()
        if value in ("1", "true", "да", "yes"):
            return 1
        if value in ("0", "false", "нет", "no"):
            return 0
        raise ValueError("not 0/1")
    if kind is Kind.TIME:
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError("not HH:MM")
        return int(match[1]) * 60 + int(match[2])
    raise AssertionError(kind)


_KIND_RU = {
    Kind.MONEY: "сумма в рублях (например 1000 или 99.90)", Kind.QTY: "количество (например 3 или 0.250)",
    Kind.RATE: "процент (например 10)", Kind.INT: "целое число", Kind.BOOL: "0 или 1", Kind.TIME: "время ЧЧ:ММ",
}  # fmt: skip
_KIND_EN = {
    Kind.MONEY: "an amount in rubles (e.g. 1000 or 99.90)", Kind.QTY: "a quantity (e.g. 3 or 0.250)",
    Kind.RATE: "a percentage (e.g. 10)", Kind.INT: "a whole number", Kind.BOOL: "0 or 1", Kind.TIME: "a time HH:MM",
}  # fmt: skip


def _rate(line: _Line, item: Item, *, allow_variable: bool = True) -> Rate:
    """A rate: ``10%`` or ``10`` (percent), ``0.10`` (below 1: a fraction, the original's notation), ``sets.NAME``."""
    text = item.text
    if text.startswith("sets."):
        name = text[5:]
        if not allow_variable or not _NAME.match(name):
            raise line.error(item.column, "bad_rate", f"недопустимая ставка «{text}»", f"bad rate '{text}'")
        return Rate(variable=name)
    try:
        if text.endswith("%"):
            bp = parse_rate(text[:-1])
        else:
            bp = parse_rate(text)
            if bp < 100 and "." in text:  # below 1 with a decimal point: a fraction, 0.10 == 10 %
                bp *= 100
    except ValueError:
        raise line.error(item.column, "bad_rate", f"«{text}» — не ставка: ожидается процент (10 или 10%), доля (0.10) или sets.ИМЯ",
                         f"'{text}' is not a rate: expected a percentage (10 or 10%), a fraction (0.10) or sets.NAME") from None  # fmt: skip
    if bp < 0 or bp > 10_000:
        raise line.error(item.column, "bad_rate", f"ставка {text} вне диапазона 0–100%", f"rate {text} is outside 0–100%")
    return Rate(bp=bp)


def _field(line: _Line, table: str, name: str, column: int) -> FieldRef:
    known, aliases = FIELD_TABLES[table]
    if name.startswith("sets.") and _NAME.match(name[5:]):
        return FieldRef(name, Kind.FREE, "sets", name[5:])
    if name.startswith("prop.") and table != "group" and _NAME.match(name[5:]):
        return FieldRef(name, Kind.FREE, "prop", name[5:])
    canonical = aliases.get(name, name)
    if canonical in known:
        return FieldRef(canonical, known[canonical])
    hint = difflib.get_close_matches(name, list(known) + list(aliases), n=1)
    where_ru = {"line": "строки чека", "head": "заголовка чека", "group": "группы фильтра"}[table]
    where_en = {"line": "receipt line", "head": "receipt header", "group": "filter group"}[table]
    extra_ru = f"; может быть, «{hint[0]}»?" if hint else ""
    extra_en = f"; did you mean '{hint[0]}'?" if hint else ""
    raise line.error(column, "unknown_field",
                     f"неизвестное поле {where_ru} «{name}» (известны: {', '.join(known)}, prop.ИМЯ, sets.ИМЯ){extra_ru}",
                     f"unknown {where_en} field '{name}' (known: {', '.join(known)}, prop.NAME, sets.NAME){extra_en}")  # fmt: skip


def _value(line: _Line, ref: FieldRef, text: str, column: int) -> object:
    if ref.kind is Kind.FREE:
        return text
    if ref.kind is Kind.TEXT:
        return text
    try:
        return _number(ref.kind, text)
    except ValueError:
        raise line.error(column, "bad_value", f"«{text}» не подходит для поля {ref.name}: нужно {_KIND_RU[ref.kind]}",
                         f"'{text}' does not fit field {ref.name}: expected {_KIND_EN[ref.kind]}") from None  # fmt: skip


def _conditions(line: _Line, table: str, token: Token) -> tuple[Condition, ...]:
    if not token.items:
        raise line.error(token.column, "empty_conditions", "пустой список условий", "empty list of conditions")
    out = []
    for item in token.items:
        parts = item.text.split("?")
        if len(parts) != 3:
            raise line.error(item.column, "bad_condition",
                             f"условие «{item.text}» должно иметь вид поле?операция?значение",
                             f"condition '{item.text}' must look like field?op?value")  # fmt: skip
        name, op, value = (p.strip() for p in parts)
        ref = _field(line, table, name, item.column)
        op_column = item.column + len(parts[0]) + 1
        value_column = op_column + len(parts[1]) + 1
        if op not in OPERATORS:
            raise line.error(op_column, "bad_operator", f"неизвестная операция «{op}» (есть: {' '.join(OPERATORS)})",
                             f"unknown operator '{op}' (known: {' '.join(OPERATORS)})")  # fmt: skip
        if ref.kind is Kind.TEXT and op in ("<", ">", "<=", ">="):
            raise line.error(op_column, "bad_operator", f"поле {ref.name} текстовое: только = <> in",
                             f"field {ref.name} is text: only = <> in")  # fmt: skip
        if op == "in":
            # FIX: the original split `in` values on ',' (which the list had already split on), so
            # only one value ever took part; the alternatives are separated by '|'.
            alternatives = value.split("|")
            parsed = []
            at = value_column
            for alt in alternatives:
                if not alt.strip():
                    raise line.error(at, "empty_item", "пустое значение в списке in", "empty value in an 'in' list")
                parsed.append(_value(line, ref, alt.strip(), at))
                at += len(alt) + 1
            out.append(Condition(ref, op, tuple(parsed), item.text, line.number, item.column))
        else:
            if value == "" and ref.kind is not Kind.TEXT and ref.kind is not Kind.FREE:
                raise line.error(value_column, "bad_value", "нет значения", "missing value")
            out.append(Condition(ref, op, _value(line, ref, value, value_column), item.text, line.number, item.column))
    return tuple(out)


def _assignments(line: _Line, token: Token | None, keys: Collection[str], aliases: dict[str, str]) -> dict[str, Item]:
    if token is None:
        return {}
    out: dict[str, Item] = {}
    for item in token.items:
        key, sep, value = item.text.partition("=")
        key = key.strip()
        canonical = aliases.get(key, key)
        if not sep:
            raise line.error(item.column, "bad_assignment", f"«{item.text}»: ожидается имя=значение",
                             f"'{item.text}': expected name=value")  # fmt: skip
        if canonical not in keys:
            raise line.error(item.column, "unknown_parameter",
                             f"неизвестный параметр «{key}» (есть: {', '.join(sorted(keys))})",
                             f"unknown parameter '{key}' (known: {', '.join(sorted(keys))})")  # fmt: skip
        if canonical in out:
            raise line.error(item.column, "duplicate_parameter", f"параметр «{key}» указан дважды", f"parameter '{key}' given twice")
        out[canonical] = Item(value.strip(), item.column + len(item.text) - len(value.lstrip()))
    return out


def _fields(line: _Line, token: Token | None) -> Fields:
    given = _assignments(line, token, SET_FIELDS, SET_ALIASES)
    price = discount = bonus = None
    no_discount = False
    if "price" in given:
        item = given["price"]
        try:
            price = parse_money(item.text)
        except ValueError:
            price = -1
        if price < 0:
            raise line.error(item.column, "bad_value", f"«{item.text}» — не цена", f"'{item.text}' is not a price")
    if "discount" in given:
        discount = _rate(line, given["discount"])
    if "bonus" in given:
        bonus = _rate(line, given["bonus"])
    if "no_discount" in given:
        try:
            no_discount = bool(_number(Kind.BOOL, given["no_discount"].text))
        except ValueError:
            raise line.error(given["no_discount"].column, "bad_value", "no_discount: нужно 0 или 1", "no_discount: expected 0 or 1") from None
    return Fields(price, discount, bonus, no_discount)


def _positive(line: _Line, params: dict[str, Item], key: str, kind: Kind, where: int) -> int:
    item = params.get(key)
    if item is None:
        raise line.error(where, "missing_parameter", f"не указан параметр {key}=", f"parameter {key}= is missing")
    try:
        value = _number(kind, item.text)
    except ValueError:
        value = 0
    if value <= 0:
        raise line.error(item.column, "bad_value", f"{key}: нужно {_KIND_RU[kind]} больше нуля",
                         f"{key}: expected {_KIND_EN[kind]} above zero")  # fmt: skip
    return value


def _code(line: _Line, params: dict[str, Item], where: int) -> str:
    item = params.get("code")
    if item is None:
        raise line.error(where, "missing_parameter", "не указан параметр code=", "parameter code= is missing")
    if not item.text or not _NAME.match(item.text):
        raise line.error(item.column, "bad_value", f"недопустимый код товара «{item.text}»", f"bad item code '{item.text}'")
    return item.text


# --- commands --------------------------------------------------------------------------------


def _command(line: _Line, goods_lists: Collection[str] | None, place_groups: Collection[str] | None) -> Command | tuple:
    head = line.take("word", "команда", "a command")
    name = head.text
    n, c = line.number, head.column
    if name == "SET":
        param = line.take("word", "BEFORE_CALC или AFTER_CALC", "BEFORE_CALC or AFTER_CALC")
        if param.text not in ("BEFORE_CALC", "AFTER_CALC"):
            raise line.error(param.column, "bad_set", f"SET {param.text}: известны только BEFORE_CALC и AFTER_CALC",
                             f"SET {param.text}: only BEFORE_CALC and AFTER_CALC are known")  # fmt: skip
        value = line.take("word", "TRUE или FALSE", "TRUE or FALSE")
        if value.text not in ("TRUE", "FALSE"):
            raise line.error(value.column, "bad_set", "ожидается TRUE или FALSE", "expected TRUE or FALSE")
        line.done()
        return ("SET", param.text, value.text == "TRUE")
    if name == "DO_POS_CODE_IN":
        var = line.take("var", "имя фильтра {…}", "a filter name {…}").text
        negate = line.flag("NOT")
        lists = line.flag("GROUPS")
        negate = line.flag("NOT") or negate
        token = line.take("list", "список кодов (…)", "a list of codes (…)")
        line.done()
        entries = tuple(item.text for item in token.items)
        if not entries:
            raise line.error(token.column, "empty_list", "пустой список кодов", "empty list of codes")
        if "*" in entries:
            if len(entries) > 1 or lists:
                raise line.error(token.column, "bad_list", "«*» (все товары) пишется один, без GROUPS",
                                 "'*' (every item) stands alone, without GROUPS")  # fmt: skip
            return CodeFilter(n, c, var, (), negate, False, True)
        if lists and goods_lists is not None:
            for item in token.items:
                if item.text not in goods_lists:
                    raise line.error(item.column, "unknown_goods_list", f"нет списка товаров «{item.text}»",
                                     f"no goods list '{item.text}'")  # fmt: skip
        return CodeFilter(n, c, var, entries, negate, lists, False)
    if name == "DO_POS_PROPERTY":
        var = line.take("var", "имя фильтра {…}", "a filter name {…}").text
        token = line.take("list", "условия (поле?операция?значение,…)", "conditions (field?op?value,…)")
        line.done()
        return PropertyFilter(n, c, var, _conditions(line, "line", token))
    if name == "DO_FILTERS_GROUP":
        line.done()
        return FiltersGroup(n, c)
    if name == "IF_HEAD_PROPERTY":
        token = line.take("list", "условия (поле?операция?значение,…)", "conditions (field?op?value,…)")
        line.done()
        return HeadCondition(n, c, _conditions(line, "head", token))
    if name == "IF_GROUP_PROPERTY":
        var = line.take("var", "имя фильтра {…}", "a filter name {…}").text
        token = line.take("list", "условия (поле?операция?значение,…)", "conditions (field?op?value,…)")
        line.done()
        return GroupCondition(n, c, var, _conditions(line, "group", token))
    if name == "IF_PLACE_IN":
        negate = line.flag("NOT")
        groups = line.flag("GROUPS")
        negate = line.flag("NOT") or negate
        token = line.take("list", "список точек (…)", "a list of places (…)")
        line.done()
        if not token.items:
            raise line.error(token.column, "empty_list", "пустой список точек", "empty list of places")
        if groups and place_groups is not None:
            for item in token.items:
                if item.text not in place_groups:
                    raise line.error(item.column, "unknown_place_group", f"нет группы точек «{item.text}»",
                                     f"no place group '{item.text}'")  # fmt: skip
        return PlaceCondition(n, c, tuple(i.text for i in token.items), negate, groups)
    if name == "DO_GROUP_DISCOUNT":
        var = line.take("var", "имя фильтра {…}", "a filter name {…}").text
        token = line.take("list", "(МЕТКА,ставка)", "(LABEL,rate)")
        line.done()
        if len(token.items) != 2:
            raise line.error(token.column, "bad_arguments", "ожидается (МЕТКА,ставка)", "expected (LABEL,rate)")
        return GroupDiscount(n, c, var, token.items[0].text, _rate(line, token.items[1]))
    if name == "DO_GROUP_BONUS":
        var = line.take("var", "имя фильтра {…}", "a filter name {…}").text
        token = line.take("list", "(ставка,default|keep)", "(rate,default|keep)")
        line.done()
        if len(token.items) not in (1, 2):
            raise line.error(token.column, "bad_arguments", "ожидается (ставка,default|keep)", "expected (rate,default|keep)")
        otherwise = token.items[1].text if len(token.items) == 2 else "default"
        if otherwise not in ("default", "keep"):
            raise line.error(token.items[1].column, "bad_arguments", "второй параметр: default или keep",
                             "the second parameter is default or keep")  # fmt: skip
        return GroupBonus(n, c, var, _rate(line, token.items[0]), otherwise)
    if name in ("DO_GROUP_ADDPOS_PROPORCIONAL", "DO_GROUP_DIVPOS", "DO_SUMMA_ADDPOS_PROPORCIONAL"):
        var = line.take("var", "имя фильтра {…}", "a filter name {…}").text if name != "DO_SUMMA_ADDPOS_PROPORCIONAL" else ""
        token = line.take("list", "параметры (code=…,…)", "parameters (code=…,…)")
        assign = line.take("assign", "[…]", "[…]") if line.peek() is not None and line.peek().kind == "assign" else None
        line.done()
        keys = {"DO_GROUP_ADDPOS_PROPORCIONAL": ("code", "gcount", "count"), "DO_GROUP_DIVPOS": ("code", "count"),
                "DO_SUMMA_ADDPOS_PROPORCIONAL": ("code", "summa", "count")}[name]  # fmt: skip
        params = _assignments(line, token, keys, {})
        code = _code(line, params, token.column)
        fields = _fields(line, assign)
        if name == "DO_GROUP_ADDPOS_PROPORCIONAL":
            return GroupAddPos(n, c, var, code, _positive(line, params, "gcount", Kind.QTY, token.column),
                               _positive(line, params, "count", Kind.QTY, token.column), fields)  # fmt: skip
        if name == "DO_GROUP_DIVPOS":
            return GroupDivPos(n, c, var, code, _positive(line, params, "count", Kind.QTY, token.column), fields)
        return SummaAddPos(n, c, code, _positive(line, params, "summa", Kind.MONEY, token.column), _positive(line, params, "count", Kind.QTY, token.column), fields)
    if name == "DO_GROUP_SET_PROPERTY":
        var = line.take("var", "имя фильтра {…}", "a filter name {…}").text
        assign = line.take("assign", "[имя=значение,…]", "[name=value,…]")
        line.done()
        if not assign.items:
            raise line.error(assign.column, "empty_list", "нечего устанавливать", "nothing to set")
        return GroupSetProperty(n, c, var, _fields(line, assign))
    if name == "DO_GROUP_DELETE":
        var = line.take("var", "имя фильтра {…}", "a filter name {…}").text
        line.done()
        return GroupDelete(n, c, var)
    if name == "DO_PRIZE_GEN":
        token = line.take("list", "(система)", "(system)")
        line.done()
        if len(token.items) != 1:
            raise line.error(token.column, "bad_arguments", "ожидается (система)", "expected (system)")
        return PrizeGen(n, c, token.items[0].text)
    if name in ("DO_DENY_DISCOUNT_CARD", "DO_DENY_BONUS_CARD", "DO_DENY_BONUS_DISCOUNT"):
        line.done()
        return {"DO_DENY_DISCOUNT_CARD": DenyDiscountCard, "DO_DENY_BONUS_CARD": DenyBonusCard,
                "DO_DENY_BONUS_DISCOUNT": DenyBonusDiscount}[name](n, c)  # fmt: skip
    if name == "DO_SET_HEAD_DISCOUNT":
        token = line.take("list", "(МЕТКА,ставка)", "(LABEL,rate)")
        line.done()
        if len(token.items) != 2:
            raise line.error(token.column, "bad_arguments", "ожидается (МЕТКА,ставка)", "expected (LABEL,rate)")
        return HeadDiscount(n, c, token.items[0].text, _rate(line, token.items[1]))
    if name == "DO_SET_HEAD_BONUS":
        token = line.take("list", "(ставка,default|keep|ставка)", "(rate,default|keep|rate)")
        line.done()
        if len(token.items) not in (1, 2):
            raise line.error(token.column, "bad_arguments", "ожидается (ставка,default|keep|ставка)",
                             "expected (rate,default|keep|rate)")  # fmt: skip
        otherwise: str | Rate = "keep"
        if len(token.items) == 2:
            second = token.items[1]
            otherwise = second.text if second.text in ("default", "keep") else _rate(line, second)
        return HeadBonus(n, c, _rate(line, token.items[0]), otherwise)
    hint = difflib.get_close_matches(name.upper(), ALL_COMMANDS, n=1)
    raise line.error(c, "unknown_command", f"неизвестная команда «{name}»" + (f"; может быть, {hint[0]}?" if hint else ""),
                     f"unknown command '{name}'" + (f"; did you mean {hint[0]}?" if hint else ""))  # fmt: skip


def _lines(field: str, text: str):
    if len(text) > MAX_TEXT:
        raise PromoSyntaxError("text_too_long", f"текст длиннее {MAX_TEXT} символов", f"text longer than {MAX_TEXT} characters",
                               field, 1, 1)  # fmt: skip
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        yield _Line(field, number, raw)


def _schedule_date(value: date | str | None, field: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        raise PromoSyntaxError("bad_date", f"«{value}» — не дата ГГГГ-ММ-ДД", f"'{value}' is not a date YYYY-MM-DD", field, 1, 1) from None


def _schedule_time(value: time | str | None, field: str) -> time | None:
    if value is None or isinstance(value, time):
        return value
    text = value.strip()
    if not text:
        return None
    try:
        if not re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", text):
            raise ValueError
        parts = [int(p) for p in text.split(":")]
        return time(*parts)
    except ValueError:
        raise PromoSyntaxError("bad_time", f"«{value}» — не время ЧЧ:ММ[:СС]", f"'{value}' is not a time HH:MM[:SS]", field, 1, 1) from None


def parse_schedule(date_from=None, date_to=None, time_from=None, time_to=None, weekdays: str | None = "1111111") -> Schedule:
    """The schedule fields of a promotion, checked: ISO dates, HH:MM[:SS] times, a 7-character 0/1 mask."""
    start, end = _schedule_date(date_from, "date_from"), _schedule_date(date_to, "date_to")
    if start and end and end < start:
        raise PromoSyntaxError("bad_date_range", "дата окончания раньше даты начала", "the end date is before the start date",
                               "date_to", 1, 1)  # fmt: skip
    mask = "1111111" if weekdays is None or weekdays == "" else weekdays
    for i, ch in enumerate(mask):
        if ch not in "01":
            raise PromoSyntaxError("bad_weekdays", f"в маске дней недели допустимы только 0 и 1, а здесь «{ch}»",
                                   f"the weekday mask takes only 0 and 1, got '{ch}'", "weekdays", 1, i + 1)  # fmt: skip
    if len(mask) != 7:
        raise PromoSyntaxError("bad_weekdays", f"в маске дней недели должно быть 7 знаков (пн…вс), а их {len(mask)}",
                               f"the weekday mask needs 7 characters (Mon…Sun), got {len(mask)}", "weekdays", 1,
                               min(len(mask), 7) + 1)  # fmt: skip
    return Schedule(start, end, _schedule_time(time_from, "time_from"), _schedule_time(time_to, "time_to"), mask)


def parse_promotion(
    id: str | int,
    name: str,
    if_text: str,
    then_text: str,
    *,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    time_from: time | str | None = None,
    time_to: time | str | None = None,
    weekdays: str | None = "1111111",
    goods_lists: Collection[str] | None = None,
    place_groups: Collection[str] | None = None,
) -> Promotion:
    """Parse one promotion or raise :class:`PromoSyntaxError` naming the field, line and column.

    ``goods_lists`` / ``place_groups``: the names known where the promotion is saved; when given,
    an unknown name after ``GROUPS`` is an error too (otherwise it is reported at evaluation).
    """
    schedule = parse_schedule(date_from, date_to, time_from, time_to, weekdays)
    sets: dict[str, bool] = {}
    filters: list[Command] = []
    conditions: list[Command] = []
    effects: list[Command] = []
    places: dict[str, tuple[int, int, str]] = {}  # filter name -> where first used in the then text
    for field, text, allowed in (("if", if_text or "", IF_COMMANDS), ("then", then_text or "", THEN_COMMANDS)):
        for line in _lines(field, text):
            first = line.peek()
            if first is not None and first.kind == "word" and first.text not in allowed and first.text in ALL_COMMANDS:
                other = "then" if field == "if" else "if"
                # FIX: the original silently ignored a command in the wrong text.
                raise line.error(first.column, "wrong_text", f"команда {first.text} пишется в тексте «{other}»",
                                 f"command {first.text} belongs in the '{other}' text")  # fmt: skip
            command = _command(line, goods_lists, place_groups)
            if isinstance(command, tuple):
                _, param, value = command
                if param in sets:
                    raise line.error(first.column, "duplicate_set", f"SET {param} уже задан", f"SET {param} is already given")
                sets[param] = value
                continue
            if isinstance(command, FILTERS):
                filters.append(command)
                if hasattr(command, "var"):
                    places.setdefault(command.var, (line.number, command.column, field))
            elif isinstance(command, CONDITIONS):
                conditions.append(command)
            else:
                effects.append(command)
    defined = {f.var for f in filters if hasattr(f, "var")}
    for command in (*conditions, *effects):
        var = getattr(command, "var", None)
        if var is not None and isinstance(command, (GroupCondition, *GROUP_EFFECTS)) and var not in defined:
            field = "if" if isinstance(command, GroupCondition) else "then"
            # FIX: the original treated a condition on an undefined filter as true.
            raise PromoSyntaxError("undefined_filter", f"фильтр {{{var}}} не определён (DO_POS_CODE_IN или DO_POS_PROPERTY в тексте «then»)",
                                   f"filter {{{var}}} is not defined (DO_POS_CODE_IN or DO_POS_PROPERTY in the 'then' text)",
                                   field, command.line, _var_column(if_text if field == "if" else then_text, command))  # fmt: skip
    before = sets.get("BEFORE_CALC")
    after = sets.get("AFTER_CALC", False)
    if after:
        stage: Stage | None = Stage.AFTER_CALC
    elif before is False:
        stage = None
    else:
        stage = Stage.BEFORE_CALC
    return Promotion(str(id), name, stage, tuple(filters), tuple(conditions), tuple(effects), schedule,
                     if_text or "", then_text or "")  # fmt: skip


def _var_column(text: str, command: Command) -> int:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    raw = lines[command.line - 1] if command.line - 1 < len(lines) else ""
    at = raw.find("{")
    return at + 1 if at >= 0 else command.column


def check_text(field: str, text: str) -> list[PromoSyntaxError]:
    """Every line error of one text (for an editor that marks them all), not only the first.

    Checks each line on its own (commands, fields, values, brackets, the right text); what needs
    both texts together (an undefined filter, a repeated SET) is left to :func:`parse_promotion`.
    """
    if len(text) > MAX_TEXT:
        return [PromoSyntaxError("text_too_long", f"текст длиннее {MAX_TEXT} символов",
                                 f"text longer than {MAX_TEXT} characters", field, 1, 1)]  # fmt: skip
    errors = []
    allowed = IF_COMMANDS if field == "if" else THEN_COMMANDS
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            line = _Line(field, number, raw)
            first = line.peek()
            if first is not None and first.kind == "word" and first.text not in allowed and first.text in ALL_COMMANDS:
                raise line.error(first.column, "wrong_text", f"команда {first.text} не для текста «{field}»",
                                 f"command {first.text} does not belong in the '{field}' text")  # fmt: skip
            _command(line, None, None)
        except PromoSyntaxError as error:
            errors.append(error)
    return errors
