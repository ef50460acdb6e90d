"""Our ATOL driver against the ATOL emulator as a real process over a real pty (and TCP), command
by command, with every fault the emulator can inject."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from icecash.core.vat import VatRate
from icecash.printd.drivers.atol import AtolRegistrar
from icecash.printd.drivers.escpos_receipt import ReceiptDocument, ReceiptLine
from icecash.printd.errors import DeviceError
from tests.printd.conftest import EmulatorProcess

FAST = {"enq_timeout": 0.5, "byte_timeout": 0.5, "answer_timeout": 1.5, "retries": 3}  # generous: CI machines are busy


@pytest.fixture
def atol_proc(tmp_path: Path):
    proc = EmulatorProcess("atol", tmp_path / "atol.json")
    yield proc
    proc.stop()


@pytest.fixture
def kkt(atol_proc: EmulatorProcess):
    device = AtolRegistrar.open(atol_proc.url, **FAST)
    yield device
    device.close()


def _state(proc: EmulatorProcess) -> dict:
    return proc.state_json()


def _tape(proc: EmulatorProcess) -> list[str]:
    import json

    return json.loads(proc.control("tape"))


def _doc(**kw) -> ReceiptDocument:
    base = dict(lines=(ReceiptLine("Молоко 3,2%", 8990, 2000, VatRate.VAT10),
                       ReceiptLine("Хлеб", 4550, 1000, VatRate.VAT20, discount=550)),
                cash=25000, cashier="Иванова А.", cashier_inn="500100732259")
    base.update(kw)
    return ReceiptDocument(**base)


def _raises(code: str, fn, *args, **kwargs) -> DeviceError:
    with pytest.raises(DeviceError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, (info.value.code, info.value.message_en)
    assert info.value.message_ru and info.value.message_en
    return info.value


def test_device_type_status_and_clock(kkt: AtolRegistrar):
    info = kkt.device_type()
    assert info.protocol == 2 and info.model == 67 and "АТОЛ" in info.name
    status = kkt.status()
    assert status.fiscal and not status.shift_open and status.receipt_state == 0 and status.mode == 0
    assert abs((status.device_time - datetime.now()).total_seconds()) < 5
    kkt.set_datetime(datetime(2026, 1, 15, 9, 30, 0))
    assert abs((kkt.get_datetime() - datetime(2026, 1, 15, 9, 30, 0)).total_seconds()) < 5
    kkt.open_shift()
    _raises("atol_shift_open", kkt.set_datetime, datetime(2026, 1, 16))


def test_sale_with_cash_and_card_kept_separate(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    doc = _doc(cash=10000, card=12000)  # total 179.80 + 40.00 = 219.80; card 120.00; cash 100.00 → change 0.20
    assert doc.total == 21980
    last = kkt.print_receipt(doc)
    assert last.kind == "sale" and last.total == 21980 and last.card == 12000 and last.cash == 9980
    assert kkt.shift_payments("sale", "cash") == 9980
    assert kkt.shift_payments("sale", "card") == 12000
    assert kkt.shift_vat("sale", VatRate.VAT10) == (17980, 1635)
    assert kkt.shift_vat("sale", VatRate.VAT20) == (4000, 667)
    assert kkt.cash_in_drawer() == 9980
    counters = kkt.counters()
    assert counters.shift_open and counters.shift_number == 1 and counters.receipts_in_shift == 1
    assert counters.document_number == 2  # shift opening + the receipt
    tape = _tape(atol_proc)
    assert "Молоко 3,2%" in tape and "БЕЗНАЛИЧНЫМИ =120.00" in tape and "СДАЧА =0.20" in tape
    assert "Кассир: Иванова А." in tape and "ИНН кассира: 500100732259" in tape


def test_return_receipt(kkt: AtolRegistrar):
    kkt.print_receipt(_doc(cash=30000))
    last = kkt.print_receipt(_doc(kind="return", cash=21980 - 5000, card=5000,
                                  lines=_doc().lines))
    assert last.kind == "return" and last.total == 21980
    assert kkt.shift_payments("return", "cash") == 16980
    assert kkt.shift_payments("return", "card") == 5000
    assert kkt.cash_in_drawer() == 21980 - 16980
    kkt.open_receipt("return")
    _raises("atol_return_receipt_open", kkt.register, "Хлеб", 100, kind="sale")
    _raises("atol_return_receipt_open", kkt.open_receipt, "sale")


def test_receipt_state_machine_refusals(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.ensure_mode(1)
    _raises("atol_receipt_closed", kkt.register, "Хлеб", 4550)
    _raises("atol_receipt_closed", kkt.close_receipt, cash=100)
    _raises("atol_receipt_closed", kkt.cancel_receipt)
    kkt.open_receipt("sale")
    _raises("atol_sale_receipt_open", kkt.open_receipt, "sale")
    _raises("atol_sale_receipt_open", kkt.cash_in, 100)
    _raises("atol_receipt_open", kkt.exit_mode)
    kkt.register("Хлеб", 4550, 1000, vat=VatRate.VAT10)
    _raises("atol_bad_department", kkt.execute, 0xE6, b"\x00" + b"X".ljust(64, b"\x00") + bytes.fromhex(
        "000000004550" "0000001000") + b"\x01\x00" + bytes(6) + b"\x02\x17" + bytes(17))
    _raises("atol_card_over_total", kkt.close_receipt, card=4551)
    _raises("atol_underpaid", kkt.close_receipt, cash=4000)
    assert kkt.status().receipt_state == 1 and kkt.status().receipt_total == 4550
    kkt.close_receipt(cash=5000)
    assert kkt.last_receipt().total == 4550 and kkt.cash_in_drawer() == 4550
    kkt.open_receipt("sale")
    kkt.register("Сыр", 30000)
    docs = kkt.counters().document_number
    kkt.cancel_receipt()
    assert kkt.status().receipt_state == 0
    assert kkt.counters().document_number == docs  # a cancelled receipt is no fiscal document
    assert "ЧЕК АННУЛИРОВАН (отмена)" in _tape(atol_proc)


def test_discounts(kkt: AtolRegistrar):
    kkt.open_receipt("sale")
    kkt.register("A", 10000, vat=VatRate.VAT20)
    kkt.register("B", 5000, vat=VatRate.NONE)
    kkt.discount(percent_bp=1000, last_line=True)  # 10 % of B = 5.00
    kkt.discount(1000)  # 10.00 over both lines in proportion
    assert kkt.status().receipt_total == 15000 - 500 - 1000
    _raises("atol_bad_discount", kkt.discount, 100000)
    kkt.close_receipt(cash=13500)
    assert kkt.shift_vat("sale", VatRate.VAT20)[0] + kkt.shift_vat("sale", VatRate.NONE)[0] == 13500


def test_cash_in_out_drawer_and_printing(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.cash_in(10000)
    _raises("atol_no_cash", kkt.cash_out, 20000)
    kkt.cash_out(2500)
    assert kkt.cash_in_drawer() == 7500
    kkt.print_text("Строка для печати, достаточно длинная, чтобы перенестись")
    kkt.print_qr("t=20261121T1055&s=219.80")
    kkt.cut(partial=True)
    kkt.open_drawer()
    kkt.beep()
    tape = _tape(atol_proc)
    assert "ВНЕСЕНИЕ" in tape and "ВЫПЛАТА" in tape and "=25.00" in tape
    assert "Строка для печати, достаточно" in tape and "[QR t=20261121T1055&s=219.80]" in tape
    assert _state(atol_proc)["drawer_pulses"] == 1


def test_x_and_z_reports(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    _raises("atol_shift_closed", kkt.z_report)
    kkt.print_receipt(_doc())
    kkt.x_report()
    kkt.z_report()
    counters = kkt.counters()
    assert counters.z_count == 1 and not counters.shift_open
    _raises("atol_shift_closed", kkt.z_report)
    kkt.print_receipt(_doc())
    assert kkt.counters().shift_number == 2 and kkt.counters().receipts_in_shift == 1
    tape = _tape(atol_proc)
    assert "X-ОТЧЁТ" in tape and "ОТЧЁТ О ЗАКРЫТИИ СМЕНЫ" in tape and "ПРОДАЖИ НАЛ =219.80" in tape


def test_passwords_and_modes(kkt: AtolRegistrar):
    kkt.mode_password = 1
    _raises("atol_bad_password", kkt.open_receipt, "sale")
    kkt.mode_password, kkt.password = 30, 1
    _raises("atol_bad_password", kkt.status)
    kkt.password = 0
    _raises("atol_wrong_mode", kkt.execute, 0x92, b"\x00\x01")  # open receipt outside registration mode
    kkt.ensure_mode(2)
    _raises("atol_wrong_mode", kkt.execute, 0x5A)  # Z in the X mode
    kkt.ensure_mode(1)
    assert kkt.mode_status().mode == 1


def test_shift_over_24_hours(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.print_receipt(_doc())
    assert atol_proc.control("advance 90000") == "ok"
    assert kkt.mode_status().shift_expired
    _raises("atol_shift_over_24h", kkt.open_receipt, "sale")
    _raises("atol_shift_over_24h", kkt.cash_in, 100)
    _raises("atol_shift_over_24h", kkt.open_shift)
    kkt.z_report()
    kkt.print_receipt(_doc())
    assert kkt.counters().shift_number == 2


def test_paper_out_mid_receipt_then_continue(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.open_receipt("sale")
    kkt.register("Молоко", 8990)
    assert atol_proc.control("paper-out") == "ok"
    _raises("atol_paper_out", kkt.register, "Хлеб", 4550)
    status = kkt.status()
    assert status.paper_out and status.receipt_state == 1 and status.receipt_total == 8990
    _raises("atol_paper_out", kkt.close_receipt, cash=8990)
    atol_proc.control("paper-in")
    kkt.register("Хлеб", 4550)
    kkt.close_receipt(cash=20000)
    assert kkt.last_receipt().total == 13540


def test_paper_runs_out_while_a_line_prints(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.open_receipt("sale")
    kkt.register("Молоко", 8990)
    atol_proc.control("paper-runout")
    kkt.register("Хлеб", 4550)  # printed to the last bit of the roll
    _raises("atol_paper_out", kkt.register, "Сыр", 30000)
    assert kkt.status().receipt_total == 13540
    atol_proc.control("paper-in")
    kkt.close_receipt(cash=13540)
    assert "Хлеб" in atol_proc.paper() and kkt.last_receipt().total == 13540


def test_cover_open(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    atol_proc.control("cover-open")
    assert kkt.status().cover_open and kkt.mode_status().cover_open
    _raises("atol_cover_open", kkt.print_text, "текст")
    _raises("atol_cover_open", kkt.open_receipt, "sale")
    atol_proc.control("cover-close")
    kkt.print_receipt(_doc())


def test_power_loss_mid_receipt_annuls_it(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.print_receipt(_doc())
    before = kkt.last_receipt()
    kkt.open_receipt("sale")
    kkt.register("Молоко", 8990)
    atol_proc.control("power-loss")
    _raises("atol_no_link", kkt.register, "Хлеб", 4550)
    _raises("atol_no_link", kkt.status)
    atol_proc.control("power-on")
    status = kkt.status()
    assert status.receipt_state == 0 and status.mode == 0
    assert kkt.last_receipt() == before
    assert "ЧЕК АННУЛИРОВАН (сбой питания)" in _tape(atol_proc)
    kkt.print_receipt(_doc())
    assert kkt.last_receipt().document_number == before.document_number + 1


def test_power_loss_after_close_is_reconciled_by_last_document(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.print_receipt(_doc())
    before = kkt.last_receipt()
    atol_proc.control("power-loss-on-close")
    doc = _doc(cash=50000)
    _raises("atol_no_answer", kkt.print_receipt, doc)
    atol_proc.control("power-on")
    after = kkt.last_receipt()
    assert after.document_number == before.document_number + 1  # it WAS fiscalised: never print it again
    assert after.total == doc.total and after.cash == doc.total


def test_killed_process_keeps_fiscal_memory(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.print_receipt(_doc())
    kkt.cash_in(700)
    kkt.open_receipt("sale")
    kkt.register("Молоко", 8990)
    kkt.close()
    atol_proc.restart()  # SIGKILL and start again on the same --state file (new pty)
    with AtolRegistrar.open(atol_proc.url, **FAST) as again:
        status = again.status()
        assert status.shift_open and status.receipt_state == 0
        assert again.cash_in_drawer() == 21980 + 700
        assert again.last_receipt().total == 21980
        assert again.counters().document_number == 3
        again.print_receipt(_doc())


def test_line_noise_is_retried(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    atol_proc.control("nak-next")
    assert kkt.status().fiscal
    atol_proc.control("corrupt-next")
    assert kkt.status().fiscal
    atol_proc.control("nak-next")
    kkt.print_receipt(_doc())
    assert kkt.counters().receipts_in_shift == 1  # retried frames were not run twice


def test_header_lines_print_on_every_receipt(kkt: AtolRegistrar, atol_proc: EmulatorProcess):
    kkt.set_header(["ООО \"Ромашка\"", "г. Москва, ул. Ленина, 1"])
    kkt.print_receipt(_doc())
    tape = _tape(atol_proc)
    start = tape.index("ООО \"Ромашка\"")
    assert tape[start + 1:start + 3] == ["г. Москва, ул. Ленина, 1", "КАССОВЫЙ ЧЕК"]
    kkt.set_header([])
    kkt.print_receipt(_doc())
    assert _tape(atol_proc).count("г. Москва, ул. Ленина, 1") == 1


def test_tables_and_cashier(kkt: AtolRegistrar):
    kkt.write_table(2, 1, 1, "ООО \"Ромашка\"".encode("cp866"))
    assert kkt.read_table(2, 1, 1).decode("cp866") == "ООО \"Ромашка\""
    from icecash.core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        kkt.set_cashier("Петров", "123")


def test_over_raw_tcp(tmp_path: Path):
    proc = EmulatorProcess("atol", tmp_path / "atol-tcp.json", tcp=True)
    try:
        with AtolRegistrar.open(proc.url, **FAST) as kkt:
            last = kkt.print_receipt(_doc(card=21980, cash=0))
            assert last.card == 21980 and last.cash == 0
            assert kkt.shift_payments("sale", "card") == 21980
    finally:
        proc.stop()
