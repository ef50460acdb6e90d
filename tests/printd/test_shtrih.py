"""Our Shtrih-M driver against the Shtrih-M emulator process over a real pty, command by command."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from icecash.core.vat import VatRate, vat_included
from icecash.printd.drivers.shtrih import ShtrihM, lrc, make_frame
from icecash.printd.drivers.shtrih_errors import (
    ERRORS,
    ShtrihError,
    error_text,
    shtrih_error,
)
from icecash.printd.errors import DeviceError


def test_frame_matches_the_published_layout():
    # short status with password 30: STX, LEN=5 (command + 4 password bytes), 10h, 1E 00 00 00, LRC
    assert make_frame(0x10, (30).to_bytes(4, "little")) == bytes.fromhex("02 05 10 1E 00 00 00 0B")
    assert lrc(bytes.fromhex("05 10 1E 00 00 00")) == 0x0B
    # an FN command carries both command bytes, both counted in LEN and the LRC
    frame = make_frame(0xFF01, (30).to_bytes(4, "little"))
    assert frame[:4] == bytes.fromhex("02 06 FF 01") and frame[-1] == lrc(frame[1:-1])


def test_every_error_is_named_in_both_languages():
    for code, (ru, en) in ERRORS.items():
        assert ru and en and ru != en, code
    err = shtrih_error(0x4E, 0x80)
    assert isinstance(err, DeviceError)
    assert err.code == "shtrih_4e" and err.device_code == 0x4E
    assert "24 часа" in err.message_ru and "24 hours" in err.message_en
    assert err.as_dict()["details"]["command"] == "80"
    ru, en = error_text(0xEE)  # a byte nobody documented is still named, never hidden
    assert "0xEE" in ru and "0xEE" in en


def test_device_type_and_status_of_a_fresh_registrar(shtrih: ShtrihM):
    kind = shtrih.device_type()
    assert kind.name == "ШТРИХ-М-01Ф" and kind.protocol == (1, 12)
    status = shtrih.short_status()
    assert status.mode_number == 4 and not status.shift_open and not status.receipt_open
    assert status.paper_present and not status.cover_open and status.submode == 0
    full = shtrih.full_status()
    assert full.serial == 12345678 and full.inn == 7700000000 and full.last_shift == 0
    assert abs(full.clock - datetime.now()) < timedelta(seconds=5)
    fn = shtrih.fn_status()
    assert fn.fn_number == "9999078900012345" and fn.last_document_number == 0 and not fn.shift_open


def test_wrong_password_is_refused_by_name(shtrih_proc):
    device = ShtrihM.open(shtrih_proc.url, password=7777, byte_timeout=0.2, answer_timeout=2)
    try:
        with pytest.raises(ShtrihError) as caught:
            device.short_status()
        assert caught.value.device_code == 0x4F
        assert "Неверный пароль" in caught.value.message_ru and "Wrong password" in caught.value.message_en
    finally:
        device.close()
    cashier = ShtrihM.open(shtrih_proc.url, password=1, admin_password=1, byte_timeout=0.2, answer_timeout=2)
    try:
        assert cashier.short_status().operator == 1  # an operator password works for operator commands
        with pytest.raises(ShtrihError) as caught:
            cashier.read_header()  # tables need the system administrator
        assert caught.value.device_code == 0x4F
    finally:
        cashier.close()


def test_set_date_and_time_only_with_the_shift_closed(shtrih: ShtrihM):
    target = datetime.now().replace(microsecond=0) + timedelta(days=3, hours=2)
    shtrih.set_datetime(target)
    assert abs(shtrih.get_datetime() - target) < timedelta(seconds=3)
    shtrih.open_shift()
    with pytest.raises(ShtrihError) as caught:
        shtrih.set_datetime(target)
    assert caught.value.device_code == 0x3C


def test_header_lines_are_table_4_and_print_on_receipts(shtrih: ShtrihM, shtrih_proc):
    shtrih.write_header(["ООО \"Ромашка\"", "Касса №1"])
    header = shtrih.read_header()
    assert header[:3] == ["ООО \"Ромашка\"", "Касса №1", ""] and len(header) == 20
    assert shtrih.read_table(4, 1, 1).startswith("ООО".encode("cp1251"))
    with pytest.raises(ShtrihError) as caught:
        shtrih.read_table(99, 1, 1)
    assert caught.value.device_code == 0x5D
    shtrih.open_shift()
    shtrih.open_receipt("sale")
    shtrih.register_item("Хлеб", 4500, 1000, vat=VatRate.VAT10)
    shtrih.close_receipt(cash=4500)
    tape = shtrih_proc.paper()
    assert tape.count("Касса №1") == 2  # the shift report and the receipt
    shtrih_proc.restart()  # the header lives in the device's memory
    with ShtrihM.open(shtrih_proc.url, byte_timeout=0.2, answer_timeout=2) as again:
        assert again.read_header()[:2] == ["ООО \"Ромашка\"", "Касса №1"]


def test_sale_with_vat_discount_cash_and_card_kept_apart(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift(cashier="Иванова А.А.", cashier_inn="500100732259")
    assert shtrih.short_status().mode_number == 2
    fd_before = shtrih.last_document_number()
    shtrih.open_receipt("sale", cashier="Иванова А.А.")
    status = shtrih.short_status()
    assert status.receipt_open and status.receipt_kind == "sale"
    milk = shtrih.register_item("Молоко 3,2%", 8990, 2000, vat=VatRate.VAT10, measure=0)
    cheese = shtrih.register_item("Сыр весовой", 55000, 350, vat=VatRate.VAT22, discount=250, measure=11)
    bread = shtrih.register_item("Хлеб", 4500, 1000, vat=VatRate.NONE, department=2)
    assert (milk, cheese, bread) == (17980, 19000, 4500)
    assert shtrih.short_status().receipt_operations == 3
    assert shtrih.subtotal() == 41480
    result = shtrih.close_receipt(cash=35000, card=10000)
    assert result.change == 35000 + 10000 - 41480
    assert result.fd_number == fd_before + 1 == shtrih.last_document_number()
    state = shtrih_proc.state_json()
    assert state["receipt"] is None and state["mode"] == 2
    assert state["cash"] == 41480 - 10000  # only the cash part stays in the drawer
    payments = state["totals"]["payments"]["sale"]
    assert payments[0] == 31480 and payments[1] == 10000 and sum(payments[2:]) == 0
    vat = state["totals"]["vat"]
    assert vat["sale:0x02"] == {"amount": 17980, "vat": vat_included(17980, VatRate.VAT10)}
    assert vat["sale:0x01"] == {"amount": 19000, "vat": vat_included(19000, VatRate.VAT22)}
    assert vat["sale:0x08"] == {"amount": 4500, "vat": 0}
    items = state["last_document"]["items"]
    assert [i["tlv"] for i in items[:2]] == [[{"tag": 2108, "value": "00"}], [{"tag": 2108, "value": "0b"}]]
    assert items[2]["department"] == 2 and items[0]["payment_method"] == 4 and items[0]["payment_object"] == 1
    tape = shtrih_proc.paper()
    assert "КАССИР Иванова А.А." in tape
    assert any(line.startswith("ИТОГ") and line.endswith("=414.80") for line in tape)
    assert any(line.startswith("БЕЗНАЛИЧНЫМИ") and line.endswith("=100.00") for line in tape)


def test_return_receipt_takes_money_out_of_the_drawer(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    shtrih.open_receipt("sale")
    shtrih.register_item("Чай", 30000, 1000, vat=VatRate.VAT22)
    shtrih.close_receipt(cash=30000)
    shtrih.open_receipt("return")
    assert shtrih.short_status().receipt_kind == "return"
    shtrih.register_item("Чай", 30000, 1000, vat=VatRate.VAT22, kind="return")
    shtrih.close_receipt(cash=30000)
    state = shtrih_proc.state_json()
    assert state["cash"] == 0
    assert state["totals"]["amounts"]["return"] == 30000 and state["totals"]["receipts"]["return"] == 1
    shtrih.open_receipt("return")
    shtrih.register_item("Чай", 30000, 1000, vat=VatRate.VAT22)  # the kind of the open receipt
    with pytest.raises(ShtrihError) as caught:
        shtrih.close_receipt(cash=30000)  # the drawer is empty
    assert caught.value.device_code == 0x46
    shtrih.close_receipt(card=30000)  # a card refund is fine


def test_cancel_leaves_no_trace_in_the_totals(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    fd = shtrih.last_document_number()
    shtrih.open_receipt("sale")
    shtrih.register_item("Кофе", 25000, 1000, vat=VatRate.VAT22)
    shtrih.cancel_receipt()
    status = shtrih.short_status()
    assert not status.receipt_open and status.mode_number == 2
    state = shtrih_proc.state_json()
    assert state["totals"]["receipts"]["sale"] == 0 and state["cash"] == 0 and state["totals"]["cancelled"] == 1
    assert shtrih.last_document_number() == fd
    assert "ЧЕК АННУЛИРОВАН" in shtrih_proc.paper()


def test_receipt_state_machine_refusals(shtrih: ShtrihM):
    def code_of(call, *args, **kwargs) -> int:
        with pytest.raises(ShtrihError) as caught:
            call(*args, **kwargs)
        return caught.value.device_code

    assert code_of(shtrih.open_receipt, "sale") == 0x3D  # no shift
    assert code_of(shtrih.z_report) == 0x3D
    assert code_of(shtrih.close_receipt, cash=100) == 0x55
    shtrih.open_shift()
    assert code_of(shtrih.open_shift) == 0x3C
    shtrih.open_receipt("sale")
    assert code_of(shtrih.open_receipt, "sale") == 0x4A
    assert code_of(shtrih.register_item, "Возврат", 100, 1000, kind="return") == 0x49
    shtrih.register_item("Батон", 5000, 1000, vat=VatRate.VAT10)
    assert code_of(shtrih.close_receipt, cash=4999) == 0x45
    assert code_of(shtrih.close_receipt, cash=100, card=5001) == 0x4D
    assert code_of(shtrih.z_report) == 0x4A
    assert code_of(shtrih.cash_in, 100) == 0x4A
    assert shtrih.short_status().receipt_open  # every refusal left the receipt as it was
    assert shtrih.subtotal() == 5000
    shtrih.close_receipt(cash=5000)
    with pytest.raises(DeviceError) as caught:
        shtrih.register_item("Минус", -1, 1000)  # refused before it reaches the wire
    assert caught.value.field == "price"


def test_discount_on_the_subtotal(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    shtrih.open_receipt("sale")
    shtrih.register_item("Торт", 100000, 1000, vat=VatRate.VAT22)
    shtrih.discount(10000, "Скидка 10%")
    assert shtrih.subtotal() == 90000
    with pytest.raises(ShtrihError) as caught:
        shtrih.discount(100000)
    assert caught.value.device_code == 0x5A
    shtrih.close_receipt(cash=90000)
    assert shtrih_proc.state_json()["cash"] == 90000


def test_x_and_z_reports_and_the_z_counter(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    shtrih.open_receipt("sale")
    shtrih.register_item("Сок", 12000, 1000, vat=VatRate.VAT22)
    shtrih.close_receipt(cash=12000)
    shtrih.x_report()
    assert shtrih.short_status().shift_open  # X leaves the shift open
    fd = shtrih.last_document_number()
    shtrih.z_report(cashier="Иванова А.А.")
    assert not shtrih.short_status().shift_open
    assert shtrih.full_status().last_shift == 1 and shtrih.last_document_number() == fd + 1
    state = shtrih_proc.state_json()
    assert state["totals"]["amounts"]["sale"] == 0 and state["receipt_number"] == 0
    assert state["cash"] == 12000  # the drawer is not emptied by a Z report
    tape = shtrih_proc.paper()
    assert "СУТОЧНЫЙ ОТЧЕТ БЕЗ ГАШЕНИЯ" in tape and "ОТЧЕТ О ЗАКРЫТИИ СМЕНЫ" in tape
    assert tape[-1] == "КАССИР Иванова А.А."  # tag 1021 went with the closing report
    assert state["last_z_totals"]["amounts"]["sale"] == 12000
    shtrih.open_shift()
    assert shtrih.full_status().last_shift == 1 and shtrih_proc.state_json()["shift_number"] == 2


def test_shift_over_24_hours_blocks_sales_until_z(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    shtrih_proc.control("advance-clock 90000")  # 25 hours later
    status = shtrih.short_status()
    assert status.mode_number == 3 and status.shift_over_24h
    with pytest.raises(ShtrihError) as caught:
        shtrih.open_receipt("sale")
    assert caught.value.device_code == 0x4E and "24" in caught.value.message_ru
    shtrih.z_report()
    shtrih.open_shift()
    shtrih.open_receipt("sale")
    shtrih.cancel_receipt()


def test_cash_in_and_out(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    first = shtrih.cash_in(500000)
    second = shtrih.cash_out(120000)
    assert second == first + 1
    with pytest.raises(ShtrihError) as caught:
        shtrih.cash_out(380001)
    assert caught.value.device_code == 0x46
    state = shtrih_proc.state_json()
    assert state["cash"] == 380000 and state["totals"]["cash_in"] == 500000 and state["totals"]["cash_out"] == 120000


def test_printer_commands(shtrih: ShtrihM, shtrih_proc):
    shtrih.print_text("Спасибо за покупку!\n" + "x" * 40, width=36)
    shtrih.print_ean13("4600000000008")
    shtrih.print_qr("t=20261121T1043&s=369.80&fn=9999078900012345&i=2&fp=3276353138&n=1")
    shtrih.feed(2)
    shtrih.cut(partial=True)
    shtrih.open_drawer()
    assert shtrih.short_status().drawer_open
    shtrih.beep()
    tape = shtrih_proc.paper()
    assert tape[:3] == ["Спасибо за покупку!", "x" * 36, "x" * 4]
    assert "[EAN-13 4600000000008]" in tape
    assert "[QR t=20261121T1043&s=369.80&fn=9999078900012345&i=2&fp=3276353138&n=1]" in tape
    assert tape[-1].endswith("✂ partial")
    with pytest.raises(DeviceError) as caught:
        shtrih.print_ean13("12345")
    assert caught.value.field == "code"


def test_repeat_document(shtrih: ShtrihM, shtrih_proc):
    with pytest.raises(ShtrihError) as caught:
        shtrih.repeat_document()
    assert caught.value.device_code == 0x56
    shtrih.open_shift()
    shtrih.open_receipt("sale")
    shtrih.register_item("Вода", 5000, 1000, vat=VatRate.VAT22)
    shtrih.close_receipt(cash=5000)
    shtrih.repeat_document()
    assert "КОПИЯ" in shtrih_proc.paper()


def test_legacy_commands_without_ffd12(shtrih_proc):
    with ShtrihM.open(shtrih_proc.url, ffd12=False, byte_timeout=0.2, answer_timeout=2) as device:
        device.open_shift()
        device.register_item("Газета", 3000, 2000, vat=VatRate.VAT10)  # 80h opens the receipt itself
        assert device.short_status().receipt_kind == "sale"
        result = device.close_receipt(cash=5000, card=1000)  # 85h
        assert result.change == 0 and result.fd_number == device.last_document_number()
        with pytest.raises(DeviceError) as caught:
            device.register_item("НДС 5", 100, 1000, vat=VatRate.VAT5)
        assert caught.value.code == "shtrih_vat_not_in_table"
    state = shtrih_proc.state_json()
    assert state["totals"]["payments"]["sale"][:2] == [5000, 1000] and state["cash"] == 5000
