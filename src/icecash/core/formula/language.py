"""The formula language of the accounting server: parser, evaluator and value formatting.

Formulas appear in ``warn.cf`` (``criterion total() < 50000``) and in ``.fm`` forms
(``${total():%m}``). Grammar, lowest precedence first::

    expr    := and ('||' and)*
    and     := eq ('&&' eq)*
    eq      := rel (('==' | '!=') rel)*
    rel     := add (('<' | '<=' | '>' | '>=') add)*
    add     := mul (('+' | '-') mul)*
    mul     := unary (('*' | '/') unary)*
    unary   := ('-' | '+' | '!') unary | primary
    primary := NUMBER | STRING | NAME '(' [arg (',' arg)*] ')' | '(' expr ')'

Values are exact rationals (:class:`fractions.Fraction`): no floats anywhere. Money is integer
kopecks (``total() < 50000`` means "below 500.00 ₽"); a division stays exact until a
``round()`` or a form's format rounds it half-up. Comparisons and logic give 1 or 0; any
non-zero value is true. The first two arguments of ``statistic`` and ``payments`` are periods
(see :mod:`.periods`). Every error carries the 1-based column where it was found.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from icecash.core.errors import InvalidInput
from icecash.core.formula.periods import Month, Period, PeriodError, match_period


class FormulaError(InvalidInput):
    """A formula that cannot be parsed or evaluated; ``position`` is the 1-based column."""

    def __init__(self, position: int, message_ru: str, message_en: str, *, code: str = "formula_syntax"):
        super().__init__(
            code,
            f"формула, позиция {position}: {message_ru}",
            f"formula, position {position}: {message_en}",
            field="formula",
            position=position,
        )
        self.position = position


class FormulaContext(Protocol):
    """What a formula can ask about one account; money in kopecks."""

    current: Month

    def total(self) -> int: ...

    def statistic(self, first: Month, last: Month, item: str | None) -> int: ...

    def payments(self, first: Month, last: Month) -> int: ...

    def count(self) -> int: ...


# --- syntax tree --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Num:
    value: Fraction
    pos: int


@dataclass(frozen=True)
class Str:
    value: str
    pos: int


@dataclass(frozen=True)
class PeriodArg:
    period: Period
    pos: int


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node
    pos: int


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    pos: int
    arg_pos: tuple[int, ...] = ()  # 1-based column where each argument starts


Node = Num | Str | PeriodArg | Unary | Binary | Call


@dataclass(frozen=True)
class Signature:
    min_args: int
    max_args: int | None  # None: any number
    periods: int = 0  # how many leading arguments are periods
    string_at: int | None = None  # index of an optional string argument


FUNCTIONS: dict[str, Signature] = {
    "total": Signature(0, 0),
    "count": Signature(0, 0),
    "statistic": Signature(2, 3, periods=2, string_at=2),
    "payments": Signature(2, 2, periods=2),
    "max": Signature(1, None),
    "min": Signature(1, None),
    "abs": Signature(1, 1),
    "round": Signature(1, 2),
}


# --- parser -------------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("||", "&&", "==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "!", "(", ")", ",")
MAX_LENGTH = 4000
MAX_DEPTH = 100


@dataclass(frozen=True)
class Formula:
    """A parsed formula: evaluate it as often as needed against different accounts."""

    source: str
    tree: Node

    def evaluate(self, context: FormulaContext) -> Fraction:
        return _evaluate(self.tree, context)

    def is_true(self, context: FormulaContext) -> bool:
        return self.evaluate(context) != 0

    def __str__(self) -> str:
        return self.source


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.depth = 0

    # scanning
    def _skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def _col(self, pos: int | None = None) -> int:
        return (self.pos if pos is None else pos) + 1

    def _fail(self, ru: str, en: str, pos: int | None = None) -> FormulaError:
        return FormulaError(self._col(pos), ru, en)

    def _peek_op(self) -> str | None:
        self._skip()
        for op in _OPERATORS:
            if self.text.startswith(op, self.pos):
                return op
        return None

    def _take(self, op: str) -> bool:
        if self._peek_op() == op:
            self.pos += len(op)
            return True
        return False

    def _describe_here(self) -> tuple[str, str]:
        if self.pos >= len(self.text):
            return "конец формулы", "end of formula"
        char = self.text[self.pos]
        return f"символ {char!r}", f"character {char!r}"

    # grammar
    def parse(self) -> Node:
        if len(self.text) > MAX_LENGTH:
            raise self._fail(f"формула длиннее {MAX_LENGTH} символов", f"formula longer than {MAX_LENGTH} characters", 0)
        self._skip()
        if self.pos >= len(self.text):
            raise self._fail("пустая формула", "empty formula")
        node = self._binary(0)
        self._skip()
        if self.pos < len(self.text):
            ru, en = self._describe_here()
            raise self._fail(f"лишний {ru} после выражения", f"unexpected {en} after the expression")
        return node

    _LEVELS: tuple[tuple[str, ...], ...] = (("||",), ("&&",), ("==", "!="), ("<", "<=", ">", ">="), ("+", "-"), ("*", "/"))

    def _binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self._unary()
        left = self._binary(level + 1)
        while True:
            op = self._peek_op()
            if op not in self._LEVELS[level]:
                return left
            op_pos = self.pos
            self.pos += len(op)
            right = self._binary(level + 1)
            left = Binary(op, left, right, op_pos + 1)

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._fail("слишком глубокая вложенность", "nesting too deep")

    def _unary(self) -> Node:
        op = self._peek_op()
        if op in ("-", "+", "!"):
            op_pos = self.pos
            self.pos += 1
            self._enter()
            operand = self._unary()
            self.depth -= 1
            return Unary(op, operand, op_pos + 1)
        return self._primary()

    def _primary(self, allow_string: bool = False) -> Node:
        self._skip()
        start = self.pos
        if self.pos >= len(self.text):
            raise self._fail("ожидалось значение, а формула кончилась", "expected a value, found the end of the formula")
        char = self.text[self.pos]
        if char == "(":
            self.pos += 1
            self._enter()
            node = self._binary(0)
            self.depth -= 1
            if not self._take(")"):
                ru, en = self._describe_here()
                raise self._fail(f"ожидалась ')', а найден {ru}", f"expected ')', found {en}")
            return node
        if char in "\"'":
            if not allow_string:
                raise self._fail("строка допустима только как позиция прайса в statistic()",
                                 "a string is allowed only as the price-list item of statistic()")
            end = self.text.find(char, self.pos + 1)
            if end < 0:
                raise self._fail("незакрытая строка", "unterminated string")
            self.pos = end + 1
            return Str(self.text[start + 1:end], start + 1)
        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            if self.pos < len(self.text) and (self.text[self.pos].isalnum() or self.text[self.pos] in "._"):
                raise self._fail(f"неверное число {self.text[start:self.pos + 1]!r}",
                                 f"malformed number {self.text[start:self.pos + 1]!r}", start)
            return Num(Fraction(match.group()), start + 1)
        match = _NAME.match(self.text, self.pos)
        if match:
            return self._call(match.group(), start)
        ru, en = self._describe_here()
        raise self._fail(f"ожидалось значение, а найден {ru}", f"expected a value, found {en}")

    def _call(self, name: str, start: int) -> Node:
        self.pos = start + len(name)
        signature = FUNCTIONS.get(name.lower())
        if signature is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise self._fail(f"неизвестная функция {name!r} (известны: {known})",
                             f"unknown function {name!r} (known: {known})", start)
        if not self._take("("):
            raise self._fail(f"после {name} ожидалась '('", f"expected '(' after {name}")
        args: list[Node] = []
        arg_pos: list[int] = []
        if not self._take(")"):
            while True:
                self._skip()
                arg_pos.append(self.pos + 1)
                args.append(self._argument(name, signature, len(args)))
                if self._take(")"):
                    break
                if not self._take(","):
                    ru, en = self._describe_here()
                    raise self._fail(f"в вызове {name} ожидалась ',' или ')', а найден {ru}",
                                     f"expected ',' or ')' in the call of {name}, found {en}")
        count = len(args)
        if count < signature.min_args or (signature.max_args is not None and count > signature.max_args):
            expected = (str(signature.min_args) if signature.min_args == signature.max_args
                        else f"{signature.min_args}..{signature.max_args if signature.max_args is not None else '∞'}")
            raise self._fail(f"{name}: {count} аргумент(ов), а нужно {expected}",
                             f"{name}: {count} argument(s), expected {expected}", start)
        return Call(name.lower(), tuple(args), start + 1, tuple(arg_pos))

    def _argument(self, name: str, signature: Signature, index: int) -> Node:
        self._skip()
        start = self.pos
        if index < signature.periods:
            try:
                found = match_period(self.text, self.pos)
            except PeriodError as exc:
                raise self._fail(f"неверный период: {exc.message_ru}", f"bad period: {exc.message_en}") from None
            if found is None:
                raise self._fail(f"{name}: аргумент {index + 1} должен быть периодом (., -.N, -N., -N.M или ГГГГ.ММ)",
                                 f"{name}: argument {index + 1} must be a period (., -.N, -N., -N.M or YYYY.MM)")
            period, self.pos = found
            return PeriodArg(period, start + 1)
        if index == signature.string_at:
            self._skip()
            if self.pos >= len(self.text) or self.text[self.pos] not in "\"'":
                raise self._fail(f"{name}: аргумент {index + 1} должен быть строкой в кавычках (позиция прайса)",
                                 f"{name}: argument {index + 1} must be a quoted string (a price-list item)")
            return self._primary(allow_string=True)
        return self._binary(0)


def parse(text: str) -> Formula:
    """Parse a formula; raises :class:`FormulaError` naming the position of the first error."""
    tree = _Parser(text).parse()
    return Formula(text, tree)


# --- evaluation ---------------------------------------------------------------------------------


def round_half_up(value: Fraction, digits: int = 0) -> Fraction:
    """``value`` rounded half away from zero to ``digits`` decimals."""
    scale = 10**digits
    scaled = value * scale
    sign = -1 if scaled < 0 else 1
    magnitude = abs(scaled)
    whole, rest = divmod(magnitude.numerator, magnitude.denominator)
    if rest * 2 >= magnitude.denominator:
        whole += 1
    return Fraction(sign * whole, scale)


def _truth(value: Fraction) -> Fraction:
    return Fraction(1) if value else Fraction(0)


_COMPARE: dict[str, Callable[[Fraction, Fraction], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def _evaluate(node: Node, ctx: FormulaContext) -> Fraction:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Unary):
        value = _evaluate(node.operand, ctx)
        if node.op == "-":
            return -value
        if node.op == "!":
            return _truth(not value)
        return value
    if isinstance(node, Binary):
        op = node.op
        left = _evaluate(node.left, ctx)
        if op == "&&":
            return _truth(bool(left) and bool(_evaluate(node.right, ctx)))
        if op == "||":
            return _truth(bool(left) or bool(_evaluate(node.right, ctx)))
        right = _evaluate(node.right, ctx)
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            if right == 0:
                raise FormulaError(node.pos, "деление на ноль", "division by zero", code="formula_eval")
            return left / right
        return _truth(_COMPARE[op](left, right))
    if isinstance(node, Call):
        return _call(node, ctx)
    raise FormulaError(node.pos, "здесь нужно число", "a number is needed here", code="formula_eval")


def _call(node: Call, ctx: FormulaContext) -> Fraction:
    name, args = node.name, node.args
    if name == "total":
        return Fraction(ctx.total())
    if name == "count":
        return Fraction(ctx.count())
    if name in ("statistic", "payments"):
        resolved = []
        for arg, column in zip(args[:2], node.arg_pos):
            try:
                resolved.append(arg.period.resolve(ctx.current))  # type: ignore[union-attr]
            except ValueError:
                raise FormulaError(column, "период вне лет 1..9999", "period outside the years 1..9999",
                                   code="formula_eval") from None
        first, last = resolved
        if first > last:
            first, last = last, first
        if name == "payments":
            return Fraction(ctx.payments(first, last))
        item = args[2].value if len(args) == 3 else None  # type: ignore[union-attr]
        return Fraction(ctx.statistic(first, last, item))
    values = [_evaluate(arg, ctx) for arg in args]
    if name == "max":
        return max(values)
    if name == "min":
        return min(values)
    if name == "abs":
        return abs(values[0])
    # round
    digits = 0
    if len(values) == 2:
        if values[1].denominator != 1 or not 0 <= values[1] <= 12:
            raise FormulaError(node.arg_pos[1], "round: число знаков должно быть целым 0..12",
                               "round: digits must be a whole number 0..12", code="formula_eval")
        digits = int(values[1])
    return round_half_up(values[0], digits)


def evaluate(text: str, context: FormulaContext) -> Fraction:
    """Parse and evaluate in one step."""
    return parse(text).evaluate(context)


# --- formatting (forms) -------------------------------------------------------------------------

_FORMAT = re.compile(r"%(?:\.(\d{1,2}))?([dfm])")


def format_value(value: Fraction, spec: str | None = None) -> str:
    """A value as text for a form.

    ``None``: whole numbers as they are, others half-up to two decimals. ``%d``: half-up to a
    whole number. ``%.Nf``: half-up to N decimals. ``%m``: the value is kopecks, shown as rubles
    with two decimals (``123456`` → ``1234.56``).
    """
    if spec is None:
        if value.denominator == 1:
            return str(value.numerator)
        return format_value(value, "%.2f")
    match = _FORMAT.fullmatch(spec.strip())
    if not match:
        raise ValueError(f"unknown format {spec!r} (use %d, %.2f or %m)")
    places, kind = match.groups()
    if kind == "d":
        return str(round_half_up(value).numerator)
    if kind == "m":
        value, digits = value / 100, 2
    else:
        digits = int(places) if places is not None else 6
    rounded = round_half_up(value, digits)
    scaled = int(rounded * 10**digits)
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"
