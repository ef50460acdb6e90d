"""VAT rates a Russian receipt line may carry (54-FZ, FFD 1.2), and the VAT inside an amount.

Prices in Russia include VAT, so the VAT of an amount is ``amount * rate / (100 + rate)``,
rounded half-up once per line and once per rate total (see ``docs/admin/rounding.md``).
"""

from __future__ import annotations

from enum import Enum

from .errors import InvalidInput
from .money import div_half_up


class VatRate(str, Enum):
    """A VAT rate by its code in IceCash data files and the API."""

    NONE = "none"  # not subject to VAT (без НДС)
    VAT0 = "0"
    VAT5 = "5"
    VAT7 = "7"
    VAT10 = "10"
    VAT20 = "20"
    VAT22 = "22"

    @property
    def percent(self) -> int | None:
        return None if self is VatRate.NONE else int(self.value)

    @property
    def label_ru(self) -> str:
        return "Без НДС" if self is VatRate.NONE else f"НДС {self.value}%"


_ALIASES = {
    "": VatRate.NONE,
    "none": VatRate.NONE,
    "no": VatRate.NONE,
    "без ндс": VatRate.NONE,
    "-": VatRate.NONE,
}


def parse_vat(text: str | int | None, field: str = "vat") -> VatRate:
    """'20', '20%', 'none', 'без НДС' as a :class:`VatRate`; anything else is refused by name."""
    if text is None:
        return VatRate.NONE
    raw = str(text).strip().lower().removesuffix("%").strip()
    if raw in _ALIASES:
        return _ALIASES[raw]
    for rate in VatRate:
        if raw == rate.value:
            return rate
    allowed = ", ".join(r.value for r in VatRate)
    raise InvalidInput(
        "bad_vat_rate",
        f"Неизвестная ставка НДС {text!r}; допустимы: {allowed}",
        f"Unknown VAT rate {text!r}; allowed: {allowed}",
        field=field,
    )


def vat_included(amount: int, rate: VatRate) -> int:
    """The VAT contained in ``amount`` kopecks at ``rate``, rounded half-up (0 for none and 0 %)."""
    percent = rate.percent
    if not percent:
        return 0
    return div_half_up(amount * percent, 100 + percent)
