"""The original DTPrint XML protocol (``POST /cmd``) on a real print service and a real emulator."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree as ET

import httpx
import pytest

from icecash.printd.cmdxml import translate
from tests.printd.conftest import EmulatorProcess
from tests.printd.live import ADMIN_PASSWORD, LivePrintd


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("cmdxml")
    shtrih = EmulatorProcess("shtrih", base / "shtrih.json")
    printd = LivePrintd(base / "printd").configure().start()
    printd.add_printer("fr", type="shtrih", url=shtrih.url, timeout_ms=700)
    printd.add_printer("gone", type="shtrih", url="serial:/dev/nonexistent-tty-for-test", timeout_ms=300)
    try:
        yield {"printd": printd, "shtrih": shtrih}
    finally:
        printd.stop()
        shtrih.stop()


def doc(printer: str, *commands: tuple[str, dict[str, str]], password: str | None = None) -> bytes:
    root = ET.Element("dtprint")
    if password is not None:
        ET.SubElement(root, "password").text = password
    ET.SubElement(root, "printer").text = printer
    cmdlist = ET.SubElement(root, "cmdlist")
    for name, params in commands:
        cmd = ET.SubElement(cmdlist, "cmd")
        ET.SubElement(cmd, "command").text = name
        plist = ET.SubElement(ET.SubElement(cmd, "param"), "list")
        for key, value in params.items():
            p = ET.SubElement(plist, "p")
            ET.SubElement(p, "n").text = key
            ET.SubElement(p, "v").text = value
    return ET.tostring(root, encoding="utf-8")


def send(rig, body: bytes, **kw) -> tuple[int, ET.Element]:
    answer = httpx.post(f"{rig['printd'].url}/cmd", content=body, headers={"content-type": "application/xml", **kw.pop("headers", {})},
                        timeout=60, **kw)
    assert answer.headers["content-type"].startswith("application/xml"), answer.text
    return answer.status_code, ET.fromstring(answer.content)


def result(root: ET.Element) -> int:
    return int(root.findtext("result"))


def test_a_receipt_command_by_command_is_fiscalised_as_one(rig) -> None:
    shtrih = rig["shtrih"]
    before = shtrih.state_json()["totals"]["receipts"]["sale"]
    body = doc("fr",
               ("_opencheck", {"type": "sale", "cashier": "Иванова"}),
               ("_registerpos", {"title": "Молоко", "price": "89.90", "qty": "2", "tax": "10", "section": "1"}),
               ("_registerpos", {"title": "Хлеб <ржаной> & Co", "price": "54.90", "qty": "1", "discount": "4.90"}),
               ("_closecheck", {"cash": "300", "card": "0"}),
               password=rig["printd"].token)
    status, root = send(rig, body)
    assert status == 200 and result(root) == 0, ET.tostring(root)
    items = root.findall("./data/item")
    assert [(i.get("op"), i.get("status")) for i in items] == [("receipt", "ok")]
    state = shtrih.state_json()
    assert state["totals"]["receipts"]["sale"] == before + 1
    assert [(i["name"], i["amount"]) for i in state["last_document"]["items"]] == [("Молоко", 17980), ("Хлеб <ржаной> & Co", 5000)]


def test_status_as_a_hash_and_a_bearer_token_works_too(rig) -> None:
    status, root = send(rig, doc("fr", ("prn_devstatus", {})), headers={"Authorization": f"Bearer {rig['printd'].token}"})
    assert status == 200 and result(root) == 0
    item = root.find("./data/item")
    assert item.get("type") == "hash"
    values = {p.findtext("n"): p.findtext("v") for p in item.findall("p")}
    assert values["fiscal"] == "1" and values["last_document"].isdigit()


def test_the_admin_password_is_accepted_as_the_original_password(rig) -> None:
    status, root = send(rig, doc("fr", ("beep", {}), password=ADMIN_PASSWORD))
    assert status == 200 and result(root) == 0


def test_errors_have_the_original_result_codes(rig) -> None:
    token = rig["printd"].token
    status, root = send(rig, b"<dtprint><printer>fr</printer><cmdlist><cmd>")
    assert (status, result(root)) == (400, 1) and root.find("error").get("code") == "bad_xml"
    status, root = send(rig, doc("fr", ("beep", {}), password="wrong-password"))
    assert (status, result(root)) == (401, 2)
    status, root = send(rig, doc("nowhere", ("beep", {}), password=token))
    assert (status, result(root)) == (404, 3) and root.find("error").get("code") == "unknown_printer"
    status, root = send(rig, doc("gone", ("beep", {}), password=token))
    assert (status, result(root)) == (502, 4)
    error = root.find("error")
    assert error.findtext("ru") and error.findtext("en")
    status, root = send(rig, doc("fr", ("_frobnicate", {}), password=token))
    assert (status, result(root)) == (400, 1) and root.find("error").get("code") == "unknown_command"


def test_a_device_error_stops_the_list_and_every_command_answers(rig) -> None:
    body = doc("fr", ("_text", {"text": "до ошибки"}), ("_cancelcheck", {}), ("_text", {"text": "после ошибки"}),
               password=rig["printd"].token)
    status, root = send(rig, body)
    assert (status, result(root)) == (502, 5)
    assert [i.get("status") for i in root.findall("./data/item")] == ["ok", "failed", "skipped"]
    paper = "\n".join(rig["shtrih"].paper())
    assert "до ошибки" in paper and "после ошибки" not in paper


def test_entities_are_refused_never_expanded(rig) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<dtprint><printer>&b;</printer><cmdlist/></dtprint>")
    status, root = send(rig, bomb)
    assert (status, result(root)) == (400, 1)
    external = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b"<dtprint><printer>&x;</printer><cmdlist/></dtprint>")
    status, root = send(rig, external)
    assert (status, result(root)) == (400, 1) and b"root:" not in ET.tostring(root)


def test_translation_of_the_original_commands() -> None:
    assert translate([("_opencheck", {"type": "retsale"}), ("_registerpos", {"title": "A", "price": "10", "qty": "1.5"}),
                      ("_discount", {"sum": "1.00"}), ("_closecheck", {"cash": "", "card": "14.00"})]) == [
        {"op": "receipt", "receipt": {"kind": "return", "cashier": {}, "card": 1400, "cash": 0,
                                      "lines": [{"name": "A", "price": 1000, "quantity": 1500, "vat": "none",
                                                 "department": 1, "total": 1400}]}}]
    assert translate([("_incash", {"sum": "100.50"}), ("_reportX", {}), ("_openbox", {}), ("_roll", {"count": "3"})]) == [
        {"op": "cash_in", "amount": 10050}, {"op": "x_report"}, {"op": "drawer"}, {"op": "feed", "lines": 3}]
    with pytest.raises(Exception) as refused:
        translate([("_opencheck", {}), ("_registerpos", {"title": "A", "price": "1"})])
    assert getattr(refused.value, "code", "") == "bad_xml"
    with pytest.raises(Exception) as refused:
        translate([("_registerpos", {"title": "A", "price": "abc"})])
    assert getattr(refused.value, "field", "").startswith("cmdlist[0]")
