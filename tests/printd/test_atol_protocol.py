"""ATOL v2 protocol pieces with no I/O: BCD, frames with DLE stuffing, the error table, and the
emulator's link layer and state machine fed byte by byte."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icecash.core.vat import VatRate
from icecash.devices.atol import AtolEmulator, make_emulator
from icecash.printd.drivers import atol_protocol as p


@given(st.integers(min_value=0, max_value=10**14 - 1))
def test_bcd_round_trip(value):
    assert p.from_bcd(p.bcd(value, 7)) == value
    assert len(p.bcd(value, 7)) == 7


def test_bcd_layout_and_limits():
    assert p.bcd(1234, 2) == b"\x12\x34"
    assert p.bcd(8990, 5) == b"\x00\x00\x00\x89\x90"
    with pytest.raises(ValueError):
        p.bcd(12345, 2)
    with pytest.raises(ValueError):
        p.bcd(-1, 2)
    with pytest.raises(ValueError):
        p.from_bcd(b"\x1a")


def test_frame_escapes_dle_and_etx_and_crc_covers_escaped_bytes():
    payload = b"\x00\x00\x10\x03A"
    frame = p.make_frame(payload)
    assert frame[0] == p.STX
    assert frame[1:-2] == b"\x00\x00\x10\x10\x10\x03A"
    assert frame[-2] == p.ETX
    expected = p.ETX
    for byte in frame[1:-2]:
        expected ^= byte
    assert frame[-1] == expected


@given(st.binary(min_size=1, max_size=300), st.integers(min_value=1, max_value=7))
def test_frame_reader_round_trip_in_any_chunks(payload, chunk):
    frame = p.make_frame(payload)
    reader = p.FrameReader()
    for i in range(0, len(frame), chunk):
        reader.push(frame[i:i + chunk])
    assert reader.done and not reader.bad_crc
    assert bytes(reader.payload) == payload


def test_frame_reader_reports_bad_crc_and_leaves_trailing_bytes():
    frame = bytearray(p.make_frame(b"\x00\x00\x3f"))
    frame[-1] ^= 0x55
    reader = p.FrameReader()
    used = reader.push(bytes(frame) + bytes((p.EOT,)))
    assert reader.done and reader.bad_crc
    assert used == len(frame)


def test_text_is_cp866_padded_and_cut():
    assert p.encode_text("Хлеб", 6) == "Хлеб".encode("cp866") + b"\x00\x00"
    assert p.encode_text("Молоко «Весёлое»") == 'Молоко "Весёлое"'.encode("cp866")
    assert len(p.encode_text("Я" * 100, p.NAME_SIZE)) == p.NAME_SIZE
    assert p.decode_text(p.encode_text("Сыр", 10)) == "Сыр"


def test_every_vat_rate_has_a_tax_code_with_its_percent():
    for rate in VatRate:
        assert p.TAX_PERCENT[p.TAX_CODES[rate]] == rate.percent


def test_device_errors_are_named_in_both_languages():
    err = p.device_error(0x88, p.CMD_OPEN_RECEIPT)
    assert err.code == "atol_shift_over_24h"
    assert "24" in err.message_ru and "24" in err.message_en
    assert err.details == {"device_code": 0x88, "command": "0x92"}
    unknown = p.device_error(0xEE, p.CMD_STATUS)
    assert unknown.code == "atol_unknown_error" and "0xEE" in unknown.message_en
    assert len({name for name, _, _ in p.DEVICE_ERRORS.values()}) == len(p.DEVICE_ERRORS)


# --- the emulator's link layer, fed as a host would, byte by byte ----------------------------


def _transaction(emu: AtolEmulator, payload: bytes, *, byte_by_byte: bool = True) -> tuple[bytes, bytes]:
    """Run one host transaction; (all device bytes, the answer payload)."""
    seen = bytearray()

    def send(data: bytes) -> None:
        if byte_by_byte:
            for b in data:
                seen.extend(emu.feed(bytes((b,))))
        else:
            seen.extend(emu.feed(data))

    send(bytes((p.ENQ,)))
    assert seen[-1:] == bytes((p.ACK,))
    send(p.make_frame(payload))
    assert seen[-1:] == bytes((p.ACK,))
    send(bytes((p.EOT,)))
    assert seen[-1:] == bytes((p.ENQ,))
    mark = len(seen)
    send(bytes((p.ACK,)))
    reader = p.FrameReader()
    reader.push(bytes(seen[mark:]))
    assert reader.done and not reader.bad_crc
    send(bytes((p.ACK,)))
    assert seen[-1:] == bytes((p.EOT,))
    return bytes(seen), bytes(reader.payload)


def _cmd(command: int, data: bytes = b"") -> bytes:
    return p.bcd(0, 2) + bytes((command,)) + data


def test_emulator_link_layer_byte_by_byte_and_whole():
    emu = AtolEmulator()
    _, answer = _transaction(emu, _cmd(p.CMD_MODE_STATUS))
    assert answer == b"U\x00\x00\x00"
    _, answer = _transaction(emu, _cmd(p.CMD_STATUS), byte_by_byte=False)
    assert answer[:1] == b"D" and len(answer) == 30


def test_emulator_naks_a_bad_frame_and_takes_the_resent_one():
    emu = AtolEmulator()
    assert emu.feed(bytes((p.ENQ,))) == bytes((p.ACK,))
    frame = bytearray(p.make_frame(_cmd(p.CMD_BEEP)))
    frame[-1] ^= 1
    assert emu.feed(bytes(frame)) == bytes((p.NAK,))
    assert emu.feed(p.make_frame(_cmd(p.CMD_BEEP))) == bytes((p.ACK,))
    assert emu.feed(bytes((p.EOT,))) == bytes((p.ENQ,))


def test_emulator_refuses_wrong_access_password_and_unknown_commands():
    emu = AtolEmulator()
    _, answer = _transaction(emu, p.bcd(1, 2) + bytes((p.CMD_BEEP,)))
    assert answer == b"U\x8c"
    _, answer = _transaction(emu, _cmd(0x01))
    assert answer == b"U\x7a"
    _, answer = _transaction(emu, _cmd(p.CMD_OPEN_RECEIPT, b"\x00\x01"))
    assert answer == b"U\x66"  # not in registration mode


def test_emulator_state_machine_without_a_line():
    emu = AtolEmulator()
    assert _transaction(emu, _cmd(p.CMD_ENTER_MODE, b"\x01" + p.bcd(30, 4)))[1] == b"U\x00"
    assert _transaction(emu, _cmd(p.CMD_OPEN_RECEIPT, b"\x00\x01"))[1] == b"U\x00"
    assert _transaction(emu, _cmd(p.CMD_OPEN_RECEIPT, b"\x00\x01"))[1] == b"U\x89"
    assert _transaction(emu, _cmd(p.CMD_EXIT_MODE))[1] == b"U\x9b"
    assert _transaction(emu, _cmd(p.CMD_CANCEL_RECEIPT))[1] == b"U\x00"
    assert _transaction(emu, _cmd(p.CMD_CANCEL_RECEIPT))[1] == b"U\x9a"
    state = json.loads(emu.control("state"))
    assert state["shift"]["open"] and state["receipt"] is None and state["doc_number"] == 1  # the shift opening


def test_emulator_state_survives_a_restart(tmp_path):
    path = tmp_path / "atol.json"
    emu = make_emulator(path, serial="123")
    _transaction(emu, _cmd(p.CMD_ENTER_MODE, b"\x01" + p.bcd(30, 4)))
    _transaction(emu, _cmd(p.CMD_CASH_IN, b"\x00" + p.bcd(5000, 5)))
    _transaction(emu, _cmd(p.CMD_OPEN_RECEIPT, b"\x00\x01"))
    again = make_emulator(path)
    state = json.loads(again.control("state"))
    assert state["cash"] == 5000 and state["serial"] == "123"
    assert state["receipt"] is None  # the open receipt was annulled at power-on
    assert "ЧЕК АННУЛИРОВАН (power-on)" in json.loads(again.control("tape"))


def test_make_emulator_refuses_bad_options():
    with pytest.raises(ValueError):
        make_emulator(None, colour="red")
    with pytest.raises(ValueError):
        make_emulator(None, model="x")
    assert make_emulator(None).control("bogus").startswith("error:")


@given(st.binary(max_size=400))
@settings(max_examples=150, deadline=None)
def test_garbage_never_breaks_the_emulator(noise):
    now = [0.0]
    emu = AtolEmulator(clock=lambda: now[0])
    emu.feed(noise)
    now[0] += 1.0  # the host waits out the inter-byte timeout, as a real one does after a failed transfer
    emu.feed(bytes((p.EOT,)))
    _, answer = _transaction(emu, _cmd(p.CMD_MODE_STATUS))  # an ENQ starts a clean transfer whatever came before
    assert answer[:2] == b"U\x00"


_RATES = st.sampled_from(list(VatRate))
_LINE = st.tuples(st.integers(1, 500_000), st.integers(1, 5_000), _RATES)


@given(st.lists(st.tuples(st.sampled_from(["sale", "return"]), st.lists(_LINE, min_size=1, max_size=5),
                          st.integers(0, 100)), min_size=1, max_size=6))
@settings(max_examples=40, deadline=None)
def test_shift_registers_add_up(receipts):
    from icecash.core.money import line_amount
    from icecash.core.vat import vat_included

    emu = AtolEmulator()
    _transaction(emu, _cmd(p.CMD_ENTER_MODE, b"\x01" + p.bcd(30, 4)), byte_by_byte=False)
    _transaction(emu, _cmd(p.CMD_CASH_IN, b"\x00" + p.bcd(10**9, 5)), byte_by_byte=False)
    expected_pay: dict[tuple[int, int], int] = {}
    expected_vat: dict[tuple[int, int], list[int]] = {}
    for kind, lines, card_share in receipts:
        code = 1 if kind == "sale" else 2
        assert _transaction(emu, _cmd(p.CMD_OPEN_RECEIPT, bytes((0, code))), byte_by_byte=False)[1] == b"U\x00"
        per_rate: dict[VatRate, int] = {}
        for price, qty, rate in lines:
            body = (b"\x00" + p.encode_text("Товар", p.NAME_SIZE) + p.bcd(price, 6) + p.bcd(qty, 5) + b"\x01\x00"
                    + p.bcd(0, 6) + bytes((p.TAX_CODES[rate],)) + p.bcd(1, 1) + bytes(17))
            command = p.CMD_REGISTER_ITEM if kind == "sale" else p.CMD_RETURN_ITEM
            assert _transaction(emu, _cmd(command, body), byte_by_byte=False)[1] == b"U\x00"
            per_rate[rate] = per_rate.get(rate, 0) + line_amount(price, qty)
        total = sum(per_rate.values())
        card = total * card_share // 100
        if card:
            assert _transaction(emu, _cmd(p.CMD_PAYMENT, b"\x00\x02" + p.bcd(card, 5)), byte_by_byte=False)[1][:2] \
                == b"U\x00"
        assert _transaction(emu, _cmd(p.CMD_CLOSE_RECEIPT, b"\x00\x01" + p.bcd(total - card + 77, 5)),
                            byte_by_byte=False)[1] == b"U\x00"
        expected_pay[(code, 1)] = expected_pay.get((code, 1), 0) + total - card
        expected_pay[(code, 2)] = expected_pay.get((code, 2), 0) + card
        for rate, amount in per_rate.items():
            slot = expected_vat.setdefault((code, p.TAX_CODES[rate]), [0, 0])
            slot[0] += amount
            slot[1] += vat_included(amount, rate)
    for (code, pay), amount in expected_pay.items():
        reply = _transaction(emu, _cmd(p.CMD_READ_REGISTER, bytes((p.REG_PAYMENTS, code, pay))), byte_by_byte=False)[1]
        assert p.from_bcd(reply[2:9]) == amount
    for (code, tax), (amount, vat) in expected_vat.items():
        reply = _transaction(emu, _cmd(p.CMD_READ_REGISTER, bytes((p.REG_VAT, code, tax))), byte_by_byte=False)[1]
        assert (p.from_bcd(reply[2:9]), p.from_bcd(reply[9:16])) == (amount, vat)
    refunds_cash = expected_pay.get((2, 1), 0)
    drawer = _transaction(emu, _cmd(p.CMD_CASH_IN_DRAWER), byte_by_byte=False)[1]
    assert p.from_bcd(drawer[1:8]) == 10**9 + expected_pay.get((1, 1), 0) - refunds_cash
