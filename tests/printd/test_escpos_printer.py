"""Our ESC/POS printer driver against the ESC/POS emulator as a real process over a real pty (and
TCP), with every fault; the emulator's parser and its text and PNG rendering."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from icecash.core.vat import VatRate
from icecash.devices.escpos import EscposEmulator, make_emulator
from icecash.printd.drivers.escpos import (
    EscposEncoder,
    EscposPrinter,
    Style,
    get_profile,
)
from icecash.printd.drivers.escpos_receipt import (
    ReceiptDocument,
    ReceiptLine,
    render_receipt,
)
from icecash.printd.errors import DeviceError
from tests.printd.conftest import EmulatorProcess


def _doc(**kw) -> ReceiptDocument:
    base = dict(
        lines=tuple(ReceiptLine(name, price, qty, vat) for name, price, qty, vat in [
            ("Молоко «Домик в деревне» 3,2% 930 мл", 8990, 2000, VatRate.VAT10),
            ("Хлеб Бородинский нарезка", 4550, 1000, VatRate.VAT10),
            ("Сыр Российский весовой, кг", 69900, 345, VatRate.VAT10),
            ("Пакет-майка", 500, 1000, VatRate.VAT20),
            ("Яблоки Гренни Смит, кг", 15990, 1234, VatRate.NONE)]),
        cash=100000, card=0, header=("ООО «Ромашка»", "г. Москва, ул. Ленина, 1", "ИНН 7701234567"),
        footer=("Спасибо за покупку!", "Ждём вас снова"), cashier="Иванова Анна", cashier_inn="500100732259",
        number="42", created_at=datetime(2026, 11, 21, 10, 55), qr="https://icecash.example/r/42")
    base.update(kw)
    return ReceiptDocument(**base)


@pytest.fixture
def printer_proc(tmp_path: Path):
    proc = EmulatorProcess("escpos", tmp_path / "escpos.json", extra=["--out", str(tmp_path / "paper")])
    yield proc
    proc.stop()


@pytest.fixture
def printer(printer_proc: EmulatorProcess):
    device = EscposPrinter.open(printer_proc.url, "80mm", timeout=2.0, status_timeout=1.5)
    yield device
    device.close()


def _text(proc: EmulatorProcess) -> str:
    return json.loads(proc.control("text"))


def _errors(code: str, fn, *args, **kwargs) -> DeviceError:
    with pytest.raises(DeviceError) as info:
        fn(*args, **kwargs)
    assert info.value.code == code and info.value.message_ru and info.value.message_en
    return info.value


def _ink_rows(image: Image.Image) -> int:
    """How many pixel rows of the image carry any black."""
    gray = image.convert("L")
    width, height = gray.size
    data = gray.tobytes()
    return sum(1 for y in range(height) if min(data[y * width:(y + 1) * width]) < 100)


def test_receipt_over_a_pty_prints_and_renders(printer: EscposPrinter, printer_proc: EmulatorProcess, tmp_path: Path):
    sent = printer.print_receipt(_doc())
    assert sent == render_receipt(_doc(), "80mm")
    text = _text(printer_proc)
    assert "ООО \"Ромашка\"" in text and "ТОВАРНЫЙ ЧЕК № 42" in text and "Сыр Российский весовой, кг" in text
    assert "Сдача" in text and "[QR https://icecash.example/r/42]" in text
    state = printer_proc.state_json()
    assert state["counters"]["cuts"] == 1 and state["counters"]["unknown"] == 0
    assert state["counters"]["status_requests"] == 6  # DLE EOT 1, 2, 4 before and after
    paper = tmp_path / "paper"
    assert (paper / "receipt-00001.txt").read_text(encoding="utf-8") == text
    image = Image.open(paper / "receipt-00001.png")
    assert image.width == 576 + 32 and image.height > 900
    assert _ink_rows(image) > 500  # text, rules and the QR code are really drawn


def test_status_and_paper_faults(printer: EscposPrinter, printer_proc: EmulatorProcess):
    status = printer.status()
    assert status.online and not status.paper_out and not status.cover_open and not status.paper_near_end
    printer_proc.control("paper-near-end")
    assert printer.status().paper_near_end and printer.status().online
    printer_proc.control("paper-out")
    status = printer.status()
    assert status.paper_out and not status.online
    _errors("escpos_paper_out", printer.print_receipt, _doc())
    _errors("escpos_paper_out", printer.cut)
    assert _text(printer_proc) == ""  # refused before sending: nothing waits in the printer
    printer.open_drawer()  # the drawer opens without paper
    printer_proc.control("paper-in")
    printer.print_receipt(_doc())
    assert "ТОВАРНЫЙ ЧЕК № 42" in _text(printer_proc)
    assert printer_proc.state_json()["counters"]["drawer_pulses"] == 1


def test_cover_open(printer: EscposPrinter, printer_proc: EmulatorProcess):
    printer_proc.control("cover-open")
    assert printer.status().cover_open
    _errors("escpos_cover_open", printer.print_lines, ["Привет"])
    printer_proc.control("cover-close")
    printer.print_lines(["Привет"], Style(bold=True))
    assert "Привет" in _text(printer_proc)


def test_paper_runs_out_mid_receipt_and_the_rest_prints_after_loading(printer: EscposPrinter,
                                                                        printer_proc: EmulatorProcess):
    printer_proc.control("paper-out-after 10")
    _errors("escpos_paper_out_during", printer.print_receipt, _doc())
    state = printer_proc.state_json()
    assert state["paper_out"] and state["held_bytes"] > 0 and state["counters"]["cuts"] == 0
    partial = _text(printer_proc)
    assert "ТОВАРНЫЙ ЧЕК № 42" in partial and "Сдача" not in partial
    printer_proc.control("paper-in")
    full = _text(printer_proc)
    assert "Сдача" in full and printer_proc.state_json()["counters"]["cuts"] == 1
    assert full.count("ТОВАРНЫЙ ЧЕК № 42") == 1  # nothing printed twice


def test_paper_runout_named_like_the_other_emulators(printer: EscposPrinter, printer_proc: EmulatorProcess):
    printer_proc.control("paper-runout")
    _errors("escpos_paper_out_during", printer.print_receipt, _doc())
    assert len([line for line in printer_proc.paper() if line]) == 5
    printer_proc.control("paper-in")
    assert any("Сдача" in line for line in printer_proc.paper())


def test_power_loss(printer: EscposPrinter, printer_proc: EmulatorProcess):
    printer_proc.control("power-loss")
    _errors("escpos_no_status", printer.status)
    _errors("escpos_no_status", printer.print_receipt, _doc())
    printer_proc.control("power-on")
    assert printer.status().online
    printer.print_receipt(_doc())
    assert _text(printer_proc).count("ТОВАРНЫЙ ЧЕК") == 1


def test_old_printer_without_status_or_native_qr(printer_proc: EmulatorProcess):
    with EscposPrinter.open(printer_proc.url, "old") as old:
        _errors("escpos_no_status", old.status)
        old.print_receipt(_doc())
    state = printer_proc.state_json()
    assert state["counters"]["status_requests"] == 0
    text = _text(printer_proc)
    assert "[IMAGE " in text and "[QR" not in text  # the QR went as a raster picture
    assert all(len(line) <= 42 for line in text.splitlines() if not line.startswith(("- -", "==")))


def test_over_tcp_with_styles_barcode_and_image(tmp_path: Path):
    proc = EmulatorProcess("escpos", tmp_path / "e.json", tcp=True, extra=["--width", "32"])
    try:
        with EscposPrinter.open(proc.url, get_profile("80mm", 32)) as printer:
            enc = printer.encoder()
            enc.line("ЗАГОЛОВОК", Style(bold=True, wide=True, align="center"))
            enc.line("инверсия", Style(inverse=True)).line("мелкий шрифт", Style(small=True))
            enc.barcode("4601234567893")
            logo = Image.new("L", (64, 32), 255)
            logo.paste(0, (0, 0, 32, 32))
            enc.image(logo)
            enc.cut()
            printer.print_job(enc.getvalue())
            lib = printer.python_escpos()  # python-escpos's command set over the same connection
            lib.charcode("CP866")
            lib.textln("через python-escpos")
            assert lib.paper_status() == 2  # its own DLE EOT 4 query, answered by the emulator: paper adequate
        text = _text(proc)
        assert "через python-escpos" in text
        assert "ЗАГОЛОВОК" in text and "[EAN13 4601234567893]" in text and "[IMAGE 64x32]" in text
    finally:
        proc.stop()


# --- the emulator's parser -------------------------------------------------------------------


def test_byte_by_byte_equals_whole():
    data = render_receipt(_doc(), "80mm")
    whole = EscposEmulator("80mm")
    whole.feed(data)
    split = EscposEmulator("80mm")
    for i in range(len(data)):
        split.feed(data[i:i + 1])
    assert split.text() == whole.text() and split.counters["cuts"] == 1


def test_status_is_answered_offline_and_unknown_commands_are_skipped():
    emu = EscposEmulator("80mm")
    assert emu.feed(b"\x10\x04\x01\x10\x04\x02\x10\x04\x04") == b"\x12\x12\x12"
    emu.control("cover-open")
    assert emu.feed(b"text\x10\x04\x02more\n") == b"\x16"
    assert emu.state()["held_bytes"] == len(b"textmore\n")
    emu.control("cover-close")
    assert emu.text() == "textmore\n"
    assert emu.feed(b"\x1b\x7fA\x1d\x7fB\x1d(L\x02\x00xyC\n") == b""
    assert emu.counters["unknown"] == 3 and emu.text().endswith("ABC\n")
    assert emu.feed(b"\x1dr\x01") == b"\x12"


def test_emulator_control_and_options(tmp_path: Path):
    emu = make_emulator(tmp_path / "s.json", width="42", out=str(tmp_path / "o"))
    assert emu.profile.width == 42
    assert emu.control("paper-out-after x").startswith("error")
    assert emu.control("nonsense").startswith("error")
    emu.feed(EscposEncoder(emu.profile).line("Привет").cut().getvalue())
    assert (tmp_path / "o" / "receipt-00001.txt").read_text(encoding="utf-8").startswith("Привет")
    assert emu.control(f"png {tmp_path / 'roll.png'}") == f"ok {tmp_path / 'roll.png'}"
    assert Image.open(tmp_path / "roll.png").width == emu.profile.dots + 32
    again = make_emulator(tmp_path / "s.json")
    assert again.counters["cuts"] == 1
    with pytest.raises(ValueError):
        make_emulator(None, colour="red")
    with pytest.raises(ValueError):
        make_emulator(None, profile="99mm")


def test_the_roll_keeps_its_last_pieces(tmp_path: Path):
    emu = EscposEmulator("58mm", out_dir=tmp_path / "o")
    emu.KEEP_PIECES, emu.ROLL_PIECES = 3, 2
    for n in range(1, 6):
        emu.feed(EscposEncoder(emu.profile).line(f"Чек {n}").cut().getvalue())
    pieces = emu.pieces()
    assert len(pieces) == 3 and emu.text(pieces[0]).startswith("Чек 3")
    roll = (tmp_path / "o" / "paper.txt").read_text(encoding="utf-8")
    assert "Чек 4" in roll and "Чек 5" in roll and "Чек 3" not in roll
    assert (tmp_path / "o" / "receipt-00005.txt").read_text(encoding="utf-8").startswith("Чек 5")
