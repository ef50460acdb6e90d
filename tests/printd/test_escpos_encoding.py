"""ESC/POS encoding with no I/O: text in the printer's code page, styles, barcodes, QR (native and
raster), images, cuts, drawer, status bytes, profiles and the receipt document's rendering — each
checked byte for byte or by parsing the result back with the emulator's parser."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from icecash.core.errors import InvalidInput
from icecash.core.vat import VatRate
from icecash.devices.escpos import Barcode, EscposEmulator, Picture, QrCode, TextLine
from icecash.printd.drivers.escpos import (
    PROFILES,
    EscposEncoder,
    EscposProfile,
    Style,
    barcode_payload,
    encode_text,
    get_profile,
    parse_status,
    raster_bytes,
    wrap,
)
from icecash.printd.drivers.escpos_receipt import (
    ReceiptDocument,
    ReceiptLine,
    render_receipt,
)
from icecash.printd.errors import DeviceError


def _enc(profile: str = "80mm") -> EscposEncoder:
    return EscposEncoder(get_profile(profile), initialize=False)


def _parse(data: bytes, profile: str = "80mm") -> EscposEmulator:
    emu = EscposEmulator(profile)
    assert emu.feed(data) == b""
    return emu


def test_init_selects_the_cyrillic_table():
    assert EscposEncoder(PROFILES["80mm"]).getvalue() == b"\x1b@\x1bt\x11"
    other = EscposProfile(name="cp1251", codepage="cp1251", codepage_table=46)
    assert EscposEncoder(other).getvalue() == b"\x1b@\x1bt\x2e"


def test_text_goes_through_the_code_page():
    assert encode_text("Привет, ёж №1") == "Привет, ёж №1".encode("cp866")
    assert encode_text("«Цена» — 10 ₽") == '"Цена" - 10 р'.encode("cp866")
    assert encode_text("emoji 😀\x07") == b"emoji ?"
    assert encode_text("Привет", "cp1251") == "Привет".encode("cp1251")


def test_styles_send_only_what_changes():
    enc = _enc()
    enc.line("Жирный", Style(bold=True))
    assert enc.getvalue() == b"\x1b!\x08" + "Жирный".encode("cp866") + b"\n\x1b!\x00"
    enc = _enc()
    enc.set_style(Style(inverse=True, tall=True, wide=True, small=True, underline=True, align="right"))
    assert enc.getvalue() == b"\x1b!\xb1\x1dB\x01\x1ba\x02"
    assert enc.columns() == 32  # font B 64 columns, double width
    enc.set_style(Style(inverse=True, tall=True, wide=True, small=True, underline=True, align="right"))
    assert len(enc.getvalue()) == 9  # nothing new


def test_style_letters_of_the_original():
    assert Style.from_flags("biwhf") == Style(bold=True, inverse=True, wide=True, tall=True, small=True)
    with pytest.raises(InvalidInput) as info:
        Style.from_flags("bx")
    assert info.value.field == "style"
    with pytest.raises(InvalidInput):
        Style(align="middle")


def test_every_style_round_trips_through_the_emulator():
    enc = EscposEncoder(PROFILES["80mm"])
    styles = [Style(bold=True), Style(inverse=True), Style(tall=True), Style(wide=True), Style(small=True),
              Style(underline=True), Style(align="center"), Style(align="right")]
    for style in styles:
        enc.line("Текст", style)
    blocks = [b for b in _parse(enc.getvalue()).paper.blocks if isinstance(b, TextLine)]
    assert len(blocks) == len(styles)
    for block, style in zip(blocks, styles):
        assert block.segments[0][0] == "Текст"
        got = block.segments[0][1]
        assert (got.bold, got.inverse, got.tall, got.wide, got.small, got.underline) == \
            (style.bold, style.inverse, style.tall, style.wide, style.small, style.underline)
        assert block.align == style.align


def test_pair_and_wrap_fit_the_width():
    enc = _enc("58mm")
    enc.pair("Очень длинное наименование товара, которое не влезет", "=1234.56")
    lines = [b for b in _parse(enc.getvalue(), "58mm").paper.blocks if isinstance(b, TextLine)]
    texts = ["".join(s for s, _ in line.segments) for line in lines]
    assert all(len(t) <= 32 for t in texts)
    assert texts[-1].endswith("=1234.56") and len(texts[-1]) == 32
    assert wrap("абв где", 3) == ["абв", "где"]
    assert wrap("абвгдеж", 3) == ["абв", "где", "ж"]
    assert wrap("", 10) == [""]


@given(st.text(alphabet="абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗ 0123456789.,-", max_size=200),
       st.sampled_from(["80mm", "58mm", "80mm-42"]))
@settings(max_examples=60, deadline=None)
def test_wrapped_cyrillic_text_round_trips(text, profile):
    enc = EscposEncoder(get_profile(profile))
    enc.wrapped(text)
    lines = [b for b in _parse(enc.getvalue(), profile).paper.blocks if isinstance(b, TextLine)]
    texts = ["".join(s for s, _ in line.segments) for line in lines]
    width = get_profile(profile).width
    assert all(len(t) <= width for t in texts)
    assert " ".join(t for t in texts if t).split() == text.split()


def test_barcodes_are_checked_and_encoded():
    assert barcode_payload("EAN13", "460123456789") == b"4601234567893"  # check digit added
    assert barcode_payload("ean-13", "4601234567893") == b"4601234567893"
    with pytest.raises(InvalidInput) as info:
        barcode_payload("EAN13", "4601234567890")
    assert info.value.code == "bad_barcode" and info.value.field == "barcode"
    assert barcode_payload("EAN8", "1234567") == b"12345670"
    assert barcode_payload("CODE39", "abc-1") == b"ABC-1"
    assert barcode_payload("CODE128", "Hello{") == b"{BHello{{"
    with pytest.raises(InvalidInput):
        barcode_payload("ITF", "123")
    with pytest.raises(InvalidInput):
        barcode_payload("CODE128", "Привет")
    with pytest.raises(InvalidInput) as info:
        barcode_payload("PDF417", "x")
    assert info.value.code == "bad_barcode_type"
    data = _enc().barcode("4601234567893", height=60, module=3, hri="below").getvalue()
    assert b"\x1dh\x3c\x1dw\x03\x1dH\x02\x1dk\x43\x0d4601234567893" in data
    block = [b for b in _parse(data).paper.blocks if isinstance(b, Barcode)][0]
    assert (block.kind, block.data, block.height, block.module, block.hri, block.align) == \
        ("EAN13", "4601234567893", 60, 3, 2, "center")


def test_qr_native_and_raster_fallback():
    native = _enc().qr("https://check.ofd.ru/?t=1", size=5, ec="Q").getvalue()
    assert b"\x1d(k\x04\x001A2\x00" in native and b"\x1d(k\x03\x001C\x05" in native
    assert b"\x1d(k\x03\x001E\x32" in native and b"\x1d(k\x03\x001Q0" in native
    qr = [b for b in _parse(native).paper.blocks if isinstance(b, QrCode)][0]
    assert (qr.data, qr.size, qr.ec) == ("https://check.ofd.ru/?t=1", 5, "Q")
    old = EscposEncoder(PROFILES["old"], initialize=False).qr("https://check.ofd.ru/?t=1").getvalue()
    assert b"\x1d(k" not in old and b"\x1dv0\x00" in old
    pic = [b for b in _parse(old, "old").paper.blocks if isinstance(b, Picture)][0]
    assert pic.width % 8 == 0 and pic.width <= 512 and 0 <= pic.width - pic.height < 8  # square, padded to bytes
    with pytest.raises(InvalidInput):
        _enc().qr("")
    with pytest.raises(InvalidInput):
        _enc().qr("x", size=40)
    with pytest.raises(InvalidInput):
        _enc().qr("x", ec="Z")


def test_raster_images_pack_black_as_one_and_scale_down():
    img = Image.new("L", (10, 2), 255)
    img.putpixel((0, 0), 0)
    img.putpixel((9, 1), 0)
    data = raster_bytes(img, 576)
    assert data == b"\x1dv0\x00\x02\x00\x02\x00" + bytes((0x80, 0x00, 0x00, 0x40))
    wide = Image.new("L", (1000, 100), 0)
    data = raster_bytes(wide, 576)
    assert data[4:6] == bytes((72, 0))  # 576 dots = 72 bytes
    tall = Image.new("L", (8, 2500), 0)
    assert raster_bytes(tall, 576).count(b"\x1dv0") == 3  # bands of 1024 rows
    pic = [b for b in _parse(_enc().image(img).getvalue()).paper.blocks if isinstance(b, Picture)][0]
    assert (pic.width, pic.height, pic.bits) == (16, 2, bytes((0x80, 0x00, 0x00, 0x40)))


def test_cut_drawer_beep_bytes():
    assert _enc().cut().getvalue() == b"\x1dVA\x03"
    assert _enc().cut(partial=True, feed=0).getvalue() == b"\x1dVB\x00"
    assert _enc().drawer().getvalue() == b"\x1bp\x00\x32\x64"
    assert _enc().drawer(pin=5, on_ms=50, off_ms=50).getvalue() == b"\x1bp\x01\x19\x19"
    with pytest.raises(InvalidInput):
        _enc().drawer(pin=3)
    emu = _parse(_enc().drawer().cut().cut(partial=True).beep(2).getvalue())
    assert emu.counters["drawer_pulses"] == 1 and emu.counters["cuts"] == 2 and emu.counters["beeps"] == 2


def test_status_bytes():
    ready = parse_status(0x12, 0x12, 0x12)
    assert ready.online and not (ready.paper_out or ready.cover_open or ready.error or ready.paper_near_end)
    st_ = parse_status(0x1A, 0x36, 0x7E)
    assert not st_.online and st_.cover_open and st_.paper_out and st_.paper_near_end
    with pytest.raises(DeviceError) as info:
        parse_status(0x00, 0x12, 0x12)
    assert info.value.code == "escpos_bad_status"


def test_profiles():
    assert get_profile("58mm").width == 32
    assert get_profile("80mm", 42).width == 42
    tm = get_profile("TM-T88V")
    assert tm.width == 42 and tm.codepage_table == 17 and tm.dots == 512
    with pytest.raises(InvalidInput) as info:
        get_profile("no-such-printer")
    assert info.value.code == "unknown_printer_model"
    with pytest.raises(InvalidInput):
        EscposProfile(codepage="no-such-codec")
    with pytest.raises(InvalidInput):
        EscposProfile(dots=100)


# --- the receipt document --------------------------------------------------------------------


def _doc(**kw) -> ReceiptDocument:
    base = dict(
        lines=(ReceiptLine("Молоко «Домик в деревне» 3,2% 930 мл", 8990, 2000, VatRate.VAT10),
               ReceiptLine("Хлеб", 4550, 1000, VatRate.VAT20, discount=550),
               ReceiptLine("Яблоки, кг", 15990, 1234, VatRate.NONE)),
        cash=50000, header=("ООО «Ромашка»",), footer=("Спасибо!",), cashier="Иванова А.",
        cashier_inn="500100732259", number="17", created_at=datetime(2026, 11, 21, 10, 55), qr="https://x.ru/17")
    base.update(kw)
    return ReceiptDocument(**base)


def test_document_totals_vat_and_change():
    doc = _doc()
    assert doc.total == 17980 + 4000 + 19732
    assert doc.vat_totals() == [(VatRate.VAT10, 17980, 1635), (VatRate.VAT20, 4000, 667), (VatRate.NONE, 19732, 0)]
    assert doc.change == 50000 - doc.total


@pytest.mark.parametrize("change,code,field", [
    ({"lines": ()}, "empty_receipt", "lines"),
    ({"kind": "refund"}, "bad_receipt_kind", "kind"),
    ({"cash": 100}, "underpaid", "cash"),
    ({"cash": 0, "card": 10**7}, "card_over_total", "card"),
    ({"lines": (ReceiptLine("X", 100, 1000, discount=200),)}, "bad_discount", "lines[0].discount"),
    ({"lines": (ReceiptLine(" ", 100),)}, "bad_line_name", "lines[0].name"),
    ({"lines": (ReceiptLine("X", 100, 0),)}, "bad_quantity", "lines[0].quantity"),
])
def test_document_refusals_name_the_field(change, code, field):
    with pytest.raises(InvalidInput) as info:
        _doc(**change)
    assert (info.value.code, info.value.field) == (code, field)


def test_document_from_json_like_data():
    doc = ReceiptDocument.from_dict({
        "kind": "sale", "lines": [{"name": "Хлеб", "price": "45.50", "quantity": "2", "vat": "10"},
                                  {"name": "Соль", "price": 1990, "quantity": 1000, "vat": "none", "discount": "1.90"}],
        "cash": "110", "card": 0, "cashier": "Петров", "created_at": "2026-11-21T10:55:00", "footer": ["До встречи"]})
    assert doc.total == 9100 + 1800 and doc.lines[0].quantity == 2000 and doc.created_at.hour == 10
    with pytest.raises(InvalidInput) as info:
        ReceiptDocument.from_dict({"lines": [{"name": "X", "price": "abc"}]})
    assert info.value.field == "lines[0].price"
    with pytest.raises(InvalidInput) as info:
        ReceiptDocument.from_dict({"lines": [{"name": "X", "price": 1, "vat": "18"}], "cash": 1})
    assert info.value.field == "lines[0].vat"


@pytest.mark.parametrize("profile", ["80mm", "80mm-42", "58mm", "old"])
def test_rendered_receipt_fits_the_width_and_says_what_it_is(profile):
    data = render_receipt(_doc(), profile)
    emu = _parse(data, profile)
    text = emu.text()
    width = get_profile(profile).width
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    assert "ТОВАРНЫЙ ЧЕК № 17" in text and "Кассир: Иванова А., ИНН 500100732259" in text.replace("\n", " ")
    assert any(line.startswith("ИТОГ") and line.endswith("=417.12") for line in lines)
    assert any(line.startswith("Сумма НДС 10%") and line.endswith("=16.35") for line in lines)
    assert any(line.startswith("Сдача") and line.endswith("=82.88") for line in lines)
    assert "ФН" not in text and "ОФД" not in text and "ФПД" not in text  # never imitate fiscal data
    assert "[QR https://x.ru/17]" in text or "[IMAGE" in text
    assert emu.counters["cuts"] == 1 and emu.counters["unknown"] == 0


def test_return_title():
    text = _parse(render_receipt(_doc(kind="return", title=""), "80mm")).text()
    assert "ВОЗВРАТ ТОВАРА № 17" in text


@given(st.binary(max_size=600))
@settings(max_examples=200, deadline=None)
def test_garbage_never_breaks_the_emulator(noise):
    emu = EscposEmulator("58mm")
    emu.feed(noise)
    emu.feed(b"\n" * 3 + b"\x00" * 600)  # complete whatever command was left open
    emu.text()
    emu.feed(EscposEncoder(get_profile("58mm")).line("Снова в строю").getvalue())
    assert "Снова в строю" in emu.text()
