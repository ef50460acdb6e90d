"""Random receipts through our driver and the emulator process: the registrar's totals agree with
IceCash's own arithmetic (core.money / core.vat) to the kopeck."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icecash.core.money import line_amount
from icecash.core.vat import VatRate, vat_included
from icecash.printd.drivers.shtrih import ShtrihM

VAT_BITS = {VatRate.VAT22: "0x01", VatRate.VAT20: "0x01", VatRate.VAT10: "0x02", VatRate.VAT0: "0x04",
            VatRate.NONE: "0x08", VatRate.VAT5: "0x40", VatRate.VAT7: "0x80"}
PERCENT_OF_BIT = {"0x01": 22, "0x02": 10, "0x04": 0, "0x08": None, "0x40": 5, "0x80": 7}

lines = st.lists(
    st.tuples(st.integers(1, 5_000_000), st.integers(1, 50_000), st.sampled_from(list(VAT_BITS)),
              st.integers(0, 100)),
    min_size=1, max_size=6,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=lines, card_share=st.integers(0, 100))
def test_random_receipts_add_up(shtrih: ShtrihM, shtrih_proc, lines, card_share):
    if not shtrih.short_status().shift_open:
        shtrih.open_shift()
    before = shtrih_proc.state_json()
    shtrih.open_receipt("sale")
    total = 0
    expected_vat: dict[str, list[int]] = {}
    for price, qty, vat, discount_percent in lines:
        gross = line_amount(price, qty)
        discount = gross * discount_percent // 100
        amount = shtrih.register_item("Товар", price, qty, vat=vat, discount=discount)
        assert amount == gross - discount
        total += amount
        bucket = expected_vat.setdefault(VAT_BITS[vat], [0, 0])
        bucket[0] += amount
        bucket[1] += vat_included(amount, vat)
    assert shtrih.subtotal() == total
    card = total * card_share // 100
    cash = total - card + 1000  # a little over: change in cash
    result = shtrih.close_receipt(cash=cash, card=card)
    assert result.change == 1000
    after = shtrih_proc.state_json()
    assert after["cash"] - before["cash"] == total - card
    assert after["totals"]["amounts"]["sale"] - before["totals"]["amounts"]["sale"] == total
    pay_before, pay_after = before["totals"]["payments"]["sale"], after["totals"]["payments"]["sale"]
    assert (pay_after[0] - pay_before[0], pay_after[1] - pay_before[1]) == (total - card, card)
    for bit, (amount, vat_sum) in expected_vat.items():
        key = f"sale:{bit}"
        old = before["totals"]["vat"].get(key, {"amount": 0, "vat": 0})
        new = after["totals"]["vat"][key]
        assert new["amount"] - old["amount"] == amount
        assert new["vat"] - old["vat"] == vat_sum
        # the emulator keeps the VAT we sent; it equals the rate applied to the amount, line by line
        assert PERCENT_OF_BIT[bit] is not None or vat_sum == 0
