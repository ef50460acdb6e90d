"""Faults injected into the Shtrih-M emulator (paper, cover, power) and how the driver reports them,
and how a host reconciles by the last fiscal document number after a power cut."""

from __future__ import annotations

import time

import pytest

from icecash.core.vat import VatRate
from icecash.printd.drivers.shtrih import ShtrihM
from icecash.printd.drivers.shtrih_errors import ShtrihError
from icecash.printd.errors import TransportError


def _open(proc) -> ShtrihM:
    return ShtrihM.open(proc.url, byte_timeout=0.2, answer_timeout=1.0, retries=2)


def _sale_in_progress(device: ShtrihM) -> None:
    device.open_shift()
    device.open_receipt("sale")
    device.register_item("Масло", 25000, 1000, vat=VatRate.VAT10)


def test_paper_out_refuses_printing_and_changes_nothing(shtrih: ShtrihM, shtrih_proc):
    _sale_in_progress(shtrih)
    shtrih_proc.control("paper-out")
    status = shtrih.short_status()
    assert not status.paper_present and status.submode == 1
    with pytest.raises(ShtrihError) as caught:
        shtrih.register_item("Сметана", 9000, 1000, vat=VatRate.VAT10)
    assert caught.value.device_code == 0x6B and "Нет чековой ленты" in caught.value.message_ru
    assert "No receipt paper" in caught.value.message_en
    with pytest.raises(ShtrihError):
        shtrih.close_receipt(cash=25000)
    with pytest.raises(ShtrihError) as caught:
        shtrih.wait_ready()
    assert caught.value.device_code == 0x6B
    assert shtrih.subtotal() == 25000 and shtrih.short_status().receipt_open  # nothing changed
    shtrih_proc.control("paper-in")
    assert shtrih.wait_ready().submode == 0
    result = shtrih.close_receipt(cash=25000)
    assert result.fd_number == shtrih.last_document_number()


def test_cover_open_is_named(shtrih: ShtrihM, shtrih_proc):
    shtrih_proc.control("cover-open")
    assert shtrih.short_status().cover_open
    with pytest.raises(ShtrihError) as caught:
        shtrih.print_line("тест")
    assert caught.value.device_code == 0x6B and caught.value.details["cover_open"] is True
    assert "крышка" in caught.value.message_ru and "cover is open" in caught.value.message_en
    with pytest.raises(ShtrihError) as caught:
        shtrih.wait_ready()
    assert caught.value.details["cover_open"] is True
    shtrih_proc.control("cover-close")
    assert shtrih.wait_ready().submode == 0
    shtrih.print_line("тест")
    assert shtrih_proc.paper()[-1] == "тест"


def test_paper_runs_out_mid_receipt_and_printing_continues(shtrih: ShtrihM, shtrih_proc):
    _sale_in_progress(shtrih)
    shtrih_proc.control("paper-runout")  # the roll ends while the next document prints
    fd_before = shtrih.last_document_number()
    result = shtrih.close_receipt(cash=30000)
    assert result.fd_number == fd_before + 1  # fiscalised: the FN has it even though the paper ended
    status = shtrih.short_status()
    assert status.submode == 2 and not status.paper_present and not status.receipt_open
    with pytest.raises(ShtrihError) as caught:
        shtrih.print_line("ещё строка")
    assert caught.value.device_code == 0x6B
    shtrih_proc.control("paper-in")
    assert shtrih.short_status().waiting_continue
    with pytest.raises(ShtrihError) as caught:
        shtrih.cut()
    assert caught.value.device_code == 0x58 and "продолжения печати" in caught.value.message_ru
    tape_before = shtrih_proc.paper()
    fd_line = f"ФД {result.fd_number}"
    assert any(line.startswith("СДАЧА") for line in tape_before)  # the first half came out
    assert not any(line.startswith(fd_line) for line in tape_before)  # the rest did not
    assert shtrih.wait_ready().submode == 0  # sends B0 itself
    tape = shtrih_proc.paper()
    assert "*** ПРОДОЛЖЕНИЕ ПЕЧАТИ ***" in tape
    assert tape.index("*** ПРОДОЛЖЕНИЕ ПЕЧАТИ ***") < next(i for i, line in enumerate(tape) if line.startswith(fd_line))
    with pytest.raises(ShtrihError) as caught:
        shtrih.continue_printing()  # nothing left to continue
    assert caught.value.device_code == 0x34


def test_power_loss_mid_receipt_then_restart_reports_the_open_receipt(shtrih_proc):
    device = _open(shtrih_proc)
    _sale_in_progress(device)
    fd_before = device.last_document_number()
    shtrih_proc.control("power-loss")
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        device.register_item("Кефир", 7000, 1000, vat=VatRate.VAT10)
    assert caught.value.code == "shtrih_no_link" and "Нет связи" in caught.value.message_ru
    assert time.monotonic() - started < 5
    device.close()
    shtrih_proc.restart()  # the process was cut; it boots from its state file
    with _open(shtrih_proc) as device:
        status = device.short_status()
        assert status.receipt_open and status.receipt_kind == "sale"  # battery-backed RAM kept it
        assert device.last_document_number() == fd_before  # never fiscalised
        assert device.subtotal() == 25000
        device.cancel_receipt()  # the host's reconciliation: cancel and sell again
        assert not device.short_status().receipt_open


def test_power_cut_after_the_fn_committed_the_receipt(shtrih_proc):
    device = _open(shtrih_proc)
    _sale_in_progress(device)
    fd_before = device.last_document_number()
    shtrih_proc.control("power-loss-at FF45 after")
    with pytest.raises(TransportError):
        device.close_receipt(cash=25000)  # the answer never came
    device.close()
    shtrih_proc.restart()
    with _open(shtrih_proc) as device:
        assert not device.short_status().receipt_open
        assert device.last_document_number() == fd_before + 1  # it was fiscalised: do not sell it again
    state = shtrih_proc.state_json()
    assert state["totals"]["receipts"]["sale"] == 1 and state["cash"] == 25000


def test_power_cut_before_the_close_was_executed(shtrih_proc):
    device = _open(shtrih_proc)
    _sale_in_progress(device)
    fd_before = device.last_document_number()
    shtrih_proc.control("power-loss-at FF45 before")
    with pytest.raises(TransportError):
        device.close_receipt(cash=25000)
    device.close()
    shtrih_proc.restart()
    with _open(shtrih_proc) as device:
        assert device.short_status().receipt_open
        assert device.last_document_number() == fd_before  # not fiscalised: close it now
        result = device.close_receipt(cash=25000)
        assert result.fd_number == fd_before + 1
    state = shtrih_proc.state_json()
    assert state["totals"]["receipts"]["sale"] == 1 and state["cash"] == 25000  # exactly once


def test_power_on_without_restarting_the_process(shtrih: ShtrihM, shtrih_proc):
    shtrih.open_shift()
    shtrih_proc.control("power-loss")
    assert shtrih_proc.state_json()["powered"] is False
    with pytest.raises(TransportError):
        shtrih.beep()
    assert shtrih_proc.control("power-on") == "ok"
    assert shtrih.short_status().shift_open
