"""The print service as a real process (``icecash printd``) driving real emulator processes over a pty:
auth, printers, jobs that stop at the first failure, receipts fiscal and not, device errors named in
both languages, bad input refused by field, the admin page, discovery and the job journal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.printd.conftest import EmulatorProcess
from tests.printd.live import ADMIN_PASSWORD, LivePrintd, cli

RECEIPT = {
    "kind": "sale",
    "lines": [{"name": "Молоко 3,2%", "price": 8990, "quantity": 2000, "total": 17000, "vat": "10"},
              {"name": "Хлеб", "price": 5490, "vat": "none", "department": 2}],
    "cash": 25000, "card": 0, "cashier": {"name": "Иванова", "inn": "500100732259"},
    "header": ["ООО Ромашка"], "footer": ["Спасибо за покупку!"], "qr": "https://example.org/r/1",
}


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Iterator[dict]:
    base = tmp_path_factory.mktemp("printd")
    (base / "by-id").mkdir()
    shtrih = EmulatorProcess("shtrih", base / "shtrih.json", extra=["--link", str(base / "by-id" / "usb-SHTRIH-M_FR-if00")])
    escpos = EmulatorProcess("escpos", base / "escpos.json", extra=["--out", str(base / "roll")])
    printd = LivePrintd(base / "printd").configure()
    cli("printer", "set", "fr", "--type", "shtrih", "--url", shtrih.url, "--timeout-ms", "700", data=printd.data)
    printd.start()
    printd.add_printer("esc", type="escpos", url=escpos.url, preview=str(base / "roll"), timeout_ms=700)
    try:
        yield {"printd": printd, "shtrih": shtrih, "escpos": escpos, "base": base}
    finally:
        printd.stop()
        shtrih.stop()
        escpos.stop()


@pytest.fixture
def healthy(rig) -> dict:
    rig["shtrih"].control("power-on")
    rig["shtrih"].control("paper-in")
    rig["shtrih"].control("cover-close")
    rig["escpos"].control("paper-in")
    rig["escpos"].control("cover-close")
    assert rig["printd"].post("/printers/fr/recover").status_code == 200
    return rig


def error_of(answer: httpx.Response, status: int, code: str, field: str | None = "__any__") -> dict:
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code, error
    assert error["message"] and error["message_en"], error
    if field != "__any__":
        assert error["field"] == field, error
    return error


# --- auth -------------------------------------------------------------------------------------------


def test_calls_need_a_token_and_configuration_needs_the_admin(rig) -> None:
    printd = rig["printd"]
    error_of(httpx.get(f"{printd.url}/api/v1/printers", timeout=10), 401, "unauthenticated", "authorization")
    error_of(httpx.get(f"{printd.url}/api/v1/printers", headers={"Authorization": "Bearer nope"}, timeout=10),
             401, "unauthenticated", "authorization")
    listed = printd.get("/printers").json()
    assert {p["name"] for p in listed} >= {"fr", "esc"}
    assert "admin_password" not in listed[0]  # device passwords are the admin's to see
    error_of(httpx.put(f"{printd.url}/api/v1/printers/x", json={"type": "none"}, headers=printd.client_headers, timeout=10),
             403, "admin_only", "authorization")
    error_of(printd.post("/tokens", {"name": "till-2"}), 403, "admin_only")
    error_of(httpx.post(f"{printd.url}/api/v1/auth/login", json={"password": "wrong-one"}, timeout=10), 401, "bad_password", "password")
    # a job that writes the registrar's tables is the admin's too
    error_of(printd.post("/printers/fr/jobs", {"commands": [{"op": "set_header", "lines": ["x"]}]}), 403, "admin_only")


def test_a_revoked_token_stops_working(rig) -> None:
    printd = rig["printd"]
    made = httpx.post(f"{printd.url}/api/v1/tokens", json={"name": "till-9"}, headers=printd.admin, timeout=10)
    assert made.status_code == 201, made.text
    token = {"Authorization": f"Bearer {made.json()['token']}"}
    assert httpx.get(f"{printd.url}/api/v1/auth/me", headers=token, timeout=10).json() == {"name": "till-9", "admin": False}
    assert "till-9" in [t["name"] for t in printd.get("/tokens", admin=True).json()]
    assert httpx.delete(f"{printd.url}/api/v1/tokens/till-9", headers=printd.admin, timeout=10).status_code == 200
    error_of(httpx.get(f"{printd.url}/api/v1/auth/me", headers=token, timeout=10), 401, "unauthenticated")


# --- printers: bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"type": "laser"}, "invalid_field", "type"),
    ({"type": "escpos", "url": "ftp://x"}, "bad_url", "url"),
    ({"type": "escpos", "url": "tcp://h:9100", "width": 3}, "bad_number", "width"),
    ({"type": "escpos", "url": "tcp://h:9100", "codepage": "klingon"}, "bad_codepage", "codepage"),
    ({"type": "escpos", "url": "tcp://h:9100", "colour": "red"}, "invalid_field", "colour"),
    ({"url": "tcp://h:9100"}, "missing_field", "type"),
])
def test_a_bad_printer_is_refused_by_field(rig, body, code, field) -> None:
    answer = httpx.put(f"{rig['printd'].url}/api/v1/printers/new-one", json=body, headers=rig["printd"].admin, timeout=10)
    error_of(answer, 422 if code == "invalid_field" else 400, code, field)
    assert rig["printd"].get("/printers/new-one").status_code == 404


def test_unknown_printer_and_bad_receipts_are_clear_errors(rig) -> None:
    printd = rig["printd"]
    error_of(printd.get("/printers/ghost/status"), 404, "unknown_printer", "printer")
    error_of(printd.post("/printers/fr/receipt", {"receipt": {**RECEIPT, "lines": []}}), 400, "empty_receipt", "receipt.lines")
    error_of(printd.post("/printers/fr/receipt", {"receipt": {**RECEIPT, "cash": 100}}), 400, "not_enough_paid", "receipt.cash")
    bad_line = {**RECEIPT, "lines": [{"name": "Молоко", "price": 100, "vat": "13"}], "cash": 100}
    error_of(printd.post("/printers/fr/receipt", {"receipt": bad_line}), 400, "bad_vat_rate", "receipt.lines[0].vat")
    too_much = {**RECEIPT, "lines": [{"name": "Молоко", "price": 100, "total": 200}], "cash": 200}
    error_of(printd.post("/printers/fr/receipt", {"receipt": too_much}), 400, "bad_total", "receipt.lines[0].total")
    error_of(printd.post("/printers/esc/x-report"), 400, "not_fiscal", "op")
    error_of(printd.post("/printers/fr/jobs", {"commands": [{"op": "fly"}]}), 400, "unknown_command", "commands[0].op")
    error_of(printd.post("/printers/fr/jobs", {"commands": []}), 400, "empty_job", "commands")
    error_of(printd.post("/printers/fr/cash-in", {"amount": 0}), 400, "bad_number", "amount")


# --- receipts -----------------------------------------------------------------------------------------


def test_a_receipt_is_fiscal_on_the_registrar(healthy) -> None:
    printd, shtrih = healthy["printd"], healthy["shtrih"]
    before = shtrih.state_json()
    answer = printd.post("/printers/fr/receipt", {"receipt": RECEIPT})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    after = shtrih.state_json()
    assert result["fiscal"] is True and result["document"] == after["fd_number"] == before["fd_number"] + (
        1 if before["shift_open"] else 2)  # a closed shift is opened first (its own document)
    assert result["change"] == 25000 - 22490
    last = after["last_document"]
    assert [(i["name"], i["qty"], i["price"], i["amount"], i["department"]) for i in last["items"]] == [
        ("Молоко 3,2%", 2000, 8990, 17000, 1), ("Хлеб", 1000, 5490, 5490, 2)]
    assert after["totals"]["receipts"]["sale"] == before["totals"]["receipts"]["sale"] + 1
    status = printd.get("/printers/fr/status").json()
    assert status["last_document"] == result["document"] and status["receipt_open"] is False


def test_a_receipt_is_non_fiscal_on_escpos_and_previewed(healthy) -> None:
    printd = healthy["printd"]
    answer = printd.post("/printers/esc/receipt", {"receipt": RECEIPT})
    assert answer.status_code == 200 and answer.json()["fiscal"] is False, answer.text
    text = (healthy["base"] / "roll" / "paper.txt").read_text(encoding="utf-8")
    for expected in ("ООО Ромашка", "ТОВАРНЫЙ ЧЕК", "Молоко 3,2%", "=224.90", "Скидка", "Спасибо за покупку!", "Сдача"):
        assert expected in text
    png = printd.get("/printers/esc/preview.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    error_of(printd.get("/printers/fr/preview.png"), 404, "no_preview", "preview")
    error_of(printd.post("/printers/esc/receipt", {"receipt": RECEIPT, "fiscal": True}), 400, "not_fiscal", "fiscal")


def test_paper_out_mid_receipt_is_a_named_error_and_recover_leaves_nothing_fiscalised(healthy) -> None:
    printd, shtrih = healthy["printd"], healthy["shtrih"]
    before = shtrih.state_json()
    shtrih.control("paper-runout")
    error = error_of(printd.post("/printers/fr/receipt", {"receipt": RECEIPT}), 502, "shtrih_6b")
    assert "бумаг" in error["message"].lower() or "лент" in error["message"].lower()
    assert shtrih.state_json()["receipt"] is not None  # half a receipt waits on the device
    shtrih.control("paper-in")
    recovered = printd.post("/printers/fr/recover").json()
    assert recovered["cancelled_receipt"] is True and recovered["receipt_open"] is False
    assert shtrih.state_json()["totals"]["receipts"]["sale"] == before["totals"]["receipts"]["sale"]


def test_power_loss_is_a_link_error_with_both_languages(healthy) -> None:
    printd, shtrih = healthy["printd"], healthy["shtrih"]
    shtrih.control("power-loss")
    error = error_of(printd.get("/printers/fr/status"), 502, "shtrih_no_link")
    assert "Штрих" in error["message"] and "Shtrih" in error["message_en"]
    shtrih.control("power-on")
    assert printd.get("/printers/fr/status").status_code == 200


# --- jobs -------------------------------------------------------------------------------------------


def test_a_job_stops_at_the_first_failure_and_answers_every_command(healthy) -> None:
    printd, shtrih = healthy["printd"], healthy["shtrih"]
    commands = [
        {"op": "text", "text": "первая строка"},
        {"op": "cancel_receipt"},  # no receipt is open: the registrar refuses
        {"op": "text", "text": "никогда не напечатано"},
    ]
    answer = printd.post("/printers/fr/jobs", {"commands": commands})
    assert answer.status_code == 502, answer.text
    job = answer.json()
    assert job["ok"] is False
    assert [r["status"] for r in job["results"]] == ["ok", "failed", "skipped"]
    assert job["error"] == job["results"][1]["error"] and job["error"]["code"].startswith("shtrih_")
    paper = "\n".join(shtrih.paper())
    assert "первая строка" in paper and "никогда" not in paper
    journal = printd.get("/jobs", admin=True, params={"printer": "fr", "limit": 5}).json()
    assert journal[0]["job"] == job["job"] and journal[0]["ok"] is False and journal[0]["client"] == "till-1"


def test_a_job_of_styled_text_barcode_qr_and_cut_on_escpos(healthy) -> None:
    printd = healthy["printd"]
    commands = [{"op": "text", "text": "ЗАГОЛОВОК", "bold": True, "wide": True, "align": "center"},
                {"op": "barcode", "data": "4601234567893"}, {"op": "qr", "data": "hello"},
                {"op": "feed", "lines": 1}, {"op": "cut"}, {"op": "drawer"}, {"op": "status"}]
    answer = printd.post("/printers/esc/jobs", {"commands": commands})
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["ok"] * len(commands)
    state = healthy["escpos"].state_json()
    assert state["counters"]["drawer_pulses"] >= 1 and state["counters"]["cuts"] >= 1
    text = (healthy["base"] / "roll" / "paper.txt").read_text(encoding="utf-8")
    assert "ЗАГОЛОВОК" in text


def test_fiscal_operations_as_named_endpoints(healthy) -> None:
    printd, shtrih = healthy["printd"], healthy["shtrih"]
    if not shtrih.state_json()["shift_open"]:
        assert printd.post("/printers/fr/open-shift").status_code == 200
    cash = shtrih.state_json()["cash"]
    assert printd.post("/printers/fr/cash-in", {"amount": 100000}).status_code == 200
    assert printd.post("/printers/fr/cash-out", {"amount": 40000}).status_code == 200
    assert shtrih.state_json()["cash"] == cash + 60000
    assert printd.post("/printers/fr/x-report").status_code == 200
    for op in ("drawer", "cut", "beep"):
        assert printd.post(f"/printers/fr/{op}").status_code == 200, op
    z = printd.post("/printers/fr/z-report")
    assert z.status_code == 200, z.text
    assert shtrih.state_json()["shift_open"] is False


def test_the_header_table_is_read_and_written_by_the_admin(healthy) -> None:
    printd, shtrih = healthy["printd"], healthy["shtrih"]
    written = httpx.put(f"{printd.url}/api/v1/printers/fr/header", json={"lines": ["ООО «Ромашка»", "ИНН 7700000000"]},
                        headers=printd.admin, timeout=30)
    assert written.status_code == 200, written.text
    assert written.json()["lines"] == ["ООО «Ромашка»", "ИНН 7700000000"]
    assert shtrih.state_json()["header"][:2] == ["ООО «Ромашка»", "ИНН 7700000000"]
    assert printd.get("/printers/fr/header").json()["lines"] == ["ООО «Ромашка»", "ИНН 7700000000"]
    error_of(httpx.put(f"{printd.url}/api/v1/printers/fr/header", json={"lines": ["x"]}, headers=printd.client_headers,
                       timeout=10), 403, "admin_only")


# --- admin page, discovery ------------------------------------------------------------------------------


def test_admin_page_login_status_test_print_and_program(healthy) -> None:
    printd = healthy["printd"]
    with httpx.Client(base_url=printd.url, timeout=30) as browser:
        page = browser.get("/")
        assert page.status_code == 200 and 'name="password"' in page.text
        refused = browser.post("/login", data={"password": "wrong"})
        assert refused.status_code == 401 and "Неверный пароль" in refused.text
        assert browser.post("/login", data={"password": ADMIN_PASSWORD}).status_code == 303
        page = browser.get("/")
        assert "fr" in page.text and "esc" in page.text and "X-CSRF-Token" in page.text
        csrf = page.text.split('"X-CSRF-Token": "')[1].split('"')[0]
        assert browser.post("/ui/printers/esc/test").status_code == 403  # no CSRF token: refused
        tested = browser.post("/ui/printers/esc/test", headers={"X-CSRF-Token": csrf})
        assert tested.status_code == 200 and "выполнено" in tested.text
        status = browser.get("/ui/printers/fr/status")
        assert status.status_code == 200 and "last_document" in status.text
        program = browser.post("/ui/program", headers={"X-CSRF-Token": csrf},
                               data={"printer": "esc", "program": '{"op": "text", "text": "программа"}\n{"op": "cut"}'})
        assert program.status_code == 200 and "выполнено" in program.text
        bad = browser.post("/ui/program", headers={"X-CSRF-Token": csrf}, data={"printer": "esc", "program": "{oops"})
        assert bad.status_code == 400 and "JSON" in bad.text
        header = browser.get("/ui/printers/fr/header")
        assert header.status_code == 200 and "<textarea" in header.text
        preview = browser.get("/ui/printers/esc/preview")
        assert preview.status_code == 200 and "preview.png" in preview.text
        assert browser.get("/api/v1/printers/esc/preview.png").status_code == 200


def test_discovery_finds_the_registrar_and_offers_it(rig, monkeypatch) -> None:
    from icecash.printd import discovery
    from icecash.printd.service import open_service

    pattern = str(rig["base"] / "by-id" / "*")
    monkeypatch.setenv("ICECASH_PRINTD_DISCOVER", pattern)
    service = open_service(rig["base"] / "discovery-printd")
    found = discovery.scan(service)
    assert [(f["device"].rsplit("/", 1)[1], f["type"], f["speed"]) for f in found] == [("usb-SHTRIH-M_FR-if00", "shtrih", 115200)]
    printer = discovery.adopt(service, found[0]["device"], found[0]["suggested_name"])
    assert printer["type"] == "shtrih" and printer["url"].startswith("serial:")
    again = discovery.scan(service)
    assert again[0]["adopted"] == printer["name"] and again[0]["type"] is None  # not probed again while in use


def test_a_registrar_emulator_tape_is_previewed_as_an_image(healthy) -> None:
    printd = healthy["printd"]
    assert printd.post("/printers/fr/receipt", {"receipt": RECEIPT}).status_code == 200
    printd.add_printer("fr", preview=str(healthy["base"] / "shtrih.json"))
    try:
        png = printd.get("/printers/fr/preview.png")
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
        from io import BytesIO

        from PIL import Image

        image = Image.open(BytesIO(png.content))
        assert image.height > 200 and image.getextrema()[0] == 0  # lines of text were drawn
    finally:
        printd.add_printer("fr", preview="")


def test_the_migrations_build_what_the_tables_module_declares(tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from icecash.printd import tables
    from icecash.printd.service import open_service
    from icecash.store.migrate import upgrade

    service = open_service(tmp_path / "p")
    upgrade("icecash.printd.migrations", service.engine)  # a second start is a no-op
    assert set(inspect(service.engine).get_table_names()) == set(tables.metadata.tables) | {"alembic_version"}
    with service.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, tables.metadata) == []


def test_an_atol_registrar_fiscalises_the_same_receipt(rig, tmp_path) -> None:
    printd = rig["printd"]
    atol = EmulatorProcess("atol", tmp_path / "atol.json")
    try:
        printd.add_printer("atol", type="atol", url=atol.url, cashier_password=0, timeout_ms=1000)
        answer = printd.post("/printers/atol/receipt", {"receipt": RECEIPT})
        assert answer.status_code == 200, answer.text
        assert answer.json()["fiscal"] is True and answer.json()["change"] == 25000 - 22490
        state = atol.state_json()
        assert state["last_receipt"]["total"] == 22490 and state["shift"]["receipts"] == 1
        status = printd.get("/printers/atol/status").json()
        assert status["last_document"] == answer.json()["document"] and status["receipt_open"] is False
        assert printd.post("/printers/atol/cash-in", {"amount": 5000}).status_code == 200
        assert atol.state_json()["shift"]["cash_in"] == 5000
    finally:
        atol.stop()
        httpx.delete(f"{printd.url}/api/v1/printers/atol", headers=printd.admin, timeout=10)


def test_jobs_on_one_printer_never_interleave(healthy) -> None:
    """Two clients at once: each job's lines come out together (the printer's lock)."""
    from concurrent.futures import ThreadPoolExecutor

    printd = healthy["printd"]

    def job(tag: str) -> int:
        commands = [{"op": "text", "text": f"{tag}-{i}"} for i in range(15)]
        return printd.post("/printers/fr/jobs", {"commands": commands}).status_code

    with ThreadPoolExecutor(2) as pool:
        assert list(pool.map(job, ["AAA", "BBB"])) == [200, 200]
    lines = [line.strip() for line in healthy["shtrih"].paper() if line.strip()[:4] in ("AAA-", "BBB-")][-30:]
    first = lines[0][:3]
    second = "BBB" if first == "AAA" else "AAA"
    assert lines == [f"{first}-{i}" for i in range(15)] + [f"{second}-{i}" for i in range(15)]
