"""The formula language of the accounting server (``warn.cf`` criteria, ``.fm`` substitutions).

Pure: parsing and evaluation only; the account's figures come through a :class:`FormulaContext`.
"""

from icecash.core.formula.language import (
    FUNCTIONS,
    Formula,
    FormulaContext,
    FormulaError,
    evaluate,
    format_value,
    parse,
    round_half_up,
)
from icecash.core.formula.periods import Month, Period, match_period

__all__ = [
    "FUNCTIONS", "Formula", "FormulaContext", "FormulaError", "Month", "Period", "evaluate",
    "format_value", "match_period", "parse", "round_half_up",
]
