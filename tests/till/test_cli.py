"""The ``icecash`` command line, run as a real process: help, price import, users, OpenAPI."""

from __future__ import annotations

import errno
import io
import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from icecash.core.roles import Role
from icecash.store.db import reading
from icecash.till.app import create_app, open_till
from icecash.till.tables import catalogue, extra_barcodes
from tests.conftest import REPO

ICECASH = Path(sys.executable).parent / "icecash"

# The example of docs/admin/price-files.md: replaces the catalogue with 2 groups, 3 items and a 6-pack barcode.
SPR = (
    "#IceCash=2.0;type=price;sheme_record=clear;sheme_count=clear\r\n"
    "# Группы: idgroup 0 — верх каталога\r\n"
    "100;;Напитки;0;0;0;0;0;1;0;0;0;0;0;0;0;0\r\n"
    "200;;Бакалея;0;0;0;0;0;1;0;0;0;0;0;0;0;0\r\n"
    "6496;4651111190225;Коньяк «Кизляр» 5 лет;0.70;198.00;12;0;0;1;20;0;1;150.00;0;0;100;1\r\n"
    "1001;4600000000011;Вода питьевая 1,5 л;0;45.50;120;0;0;1;10;0;0;0;0;0;100;1\r\n"
    "2001;;Сахар весовой;0;89.90;250.500;0;1;2;0;0;0;80.00;120.00;0;200;1\r\n"
    "#1001;4600000000028;Вода питьевая, упаковка 6 шт;;0;6\r\n"
).encode("cp1251")

# Updates: a new price for 1001, a new item 3001 in group 200; the rest stays.
UPDATE_SPR = (
    "#IceCash=2.0;type=price;sheme_record=update;sheme_count=keep\r\n"
    "1001;4600000000011;Вода питьевая 1,5 л;0;47.00;999;0;0;1;10;0;0;0;0;0;100;1\r\n"
    "3001;4600000000035;Гречка ядрица 900 г;0;99.90;40;0;0;1;5;0;0;0;0;0;200;1\r\n"
).encode("cp1251")

# The CSV example of the docs: updates and adds to stock, with VAT.
CSV = (
    "\ufeff# replace=no; stock=add\n"
    "kind;code;barcode;name;price;group;max_discount;weighed;department;vat;alcohol;litres;stock;coefficient\n"
    "group;100;;Напитки;;;;;;;;;;\n"
    "item;1001;4600000000011;Вода питьевая 1,5 л;45,50;100;10;нет;1;20;нет;;120;\n"
    'item;2001;;"Сахар; весовой";89.90;;;да;2;10%;;;250,5;\n'
    "barcode;1001;4600000000028;Вода питьевая, упаковка 6 шт;;;;;;;;;;6\n"
).encode("utf-8")


def icecash(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("ICECASH_DATA", None)
    result = subprocess.run(
        [str(ICECASH), *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def flat(result: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr with runs of whitespace (and help-panel borders) folded to one space."""
    return " ".join((result.stdout + " " + result.stderr).replace("│", " ").split())


def catalogue_dump(data: Path) -> tuple[list[tuple], list[tuple]]:
    till = open_till(data)
    with reading(till.engine) as conn:
        items = [tuple(row) for row in conn.execute(select(catalogue).order_by(catalogue.c.code))]
        extras = [
            tuple(row)[1:]
            for row in conn.execute(select(extra_barcodes).order_by(extra_barcodes.c.item_code, extra_barcodes.c.barcode))
        ]
    till.engine.dispose()
    return items, extras


def rows_by_code(data: Path) -> dict[str, dict]:
    till = open_till(data)
    with reading(till.engine) as conn:
        found = {row.code: row._asdict() for row in conn.execute(select(catalogue))}
    till.engine.dispose()
    return found


def test_help_explains_each_command() -> None:
    top = icecash("--help")
    assert top.returncode == 0
    text = flat(top)
    assert "point-of-sale" in text and "Russian shops" in text
    assert "till" in text and "demo" in text

    till = icecash("till", "--help")
    assert till.returncode == 0
    text = flat(till)
    for words in ("касса", "--data", "--port", "10110", "ICECASH_DATA", "price", "user", "openapi", "created or upgraded"):
        assert words in text, words

    price = icecash("till", "price", "import", "--help")
    assert price.returncode == 0
    text = flat(price)
    for words in (".spr", "zipped", ".csv", "file", "--data", "all lines", "none", "line number"):
        assert words in text, words

    user = icecash("till", "user", "add", "--help")
    assert user.returncode == 0
    assert all(w in flat(user) for w in ("--role", "seller, cashier or admin", "--password", "--name", "--data"))


def test_import_spr_zipped_spr_and_csv(tmp_path: Path) -> None:
    data = tmp_path / "till"
    spr = tmp_path / "price.spr"
    spr.write_bytes(SPR)
    done = icecash("till", "price", "import", spr, "--data", data)
    assert done.returncode == 0, done.stderr
    assert "Imported: 3 items, 2 groups, 1 extra barcodes" in flat(done)
    rows = rows_by_code(data)
    assert set(rows) == {"100", "200", "6496", "1001", "2001"}
    cognac, sugar = rows["6496"], rows["2001"]
    assert (cognac["price"], cognac["min_price"], cognac["max_discount_bp"], cognac["alcohol"], cognac["litres_ml"]) == (
        19800, 15000, 2000, True, 700,
    )
    assert (cognac["stock"], cognac["parent_code"], cognac["name"]) == (12_000, "100", "Коньяк «Кизляр» 5 лет")
    assert (sugar["weighed"], sugar["min_price"], sugar["max_price"], sugar["stock"], sugar["department"]) == (
        True, 8000, 12000, 250_500, 2,
    )
    assert rows["100"]["is_item"] is False and rows["100"]["parent_code"] is None
    assert catalogue_dump(data)[1] == [("1001", "4600000000028", "Вода питьевая, упаковка 6 шт", 0, 6000)]

    # a zipped .spr that updates: 1001 gets a new price (stock kept), 3001 is new, the rest stays
    archive = tmp_path / "update.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("PRICE.SPR", UPDATE_SPR)
    archive.write_bytes(buffer.getvalue())
    done = icecash("till", "--data", data, "price", "import", archive)  # --data before the subcommand works too
    assert done.returncode == 0, done.stderr
    assert "Imported: 2 items, 0 groups, 0 extra barcodes" in flat(done)
    rows = rows_by_code(data)
    assert set(rows) == {"100", "200", "6496", "1001", "2001", "3001"}
    assert (rows["1001"]["price"], rows["1001"]["stock"]) == (4700, 120_000)  # sheme_count=keep
    assert (rows["3001"]["price"], rows["3001"]["stock"], rows["3001"]["parent_code"]) == (9990, 40_000, "200")

    # a CSV that adds stock and sets VAT
    csv_file = tmp_path / "delivery.csv"
    csv_file.write_bytes(CSV)
    done = icecash("till", "price", "import", csv_file, "--data", data)
    assert done.returncode == 0, done.stderr
    assert "Imported: 2 items, 1 groups, 1 extra barcodes" in flat(done)
    rows = rows_by_code(data)
    assert (rows["1001"]["price"], rows["1001"]["stock"], rows["1001"]["vat"]) == (4550, 240_000, "20")
    assert (rows["2001"]["name"], rows["2001"]["stock"], rows["2001"]["vat"], rows["2001"]["parent_code"]) == (
        "Сахар; весовой", 501_000, "10", None,
    )
    assert rows["3001"]["price"] == 9990  # not in the CSV: untouched


BAD_FILES = (
    # name, content, line and field the message must name
    ("bad.spr", UPDATE_SPR + "3002;;Соль;0;19,8.0;0;0;0;1;0;0;0;0;0;0;200;1\r\n".encode("cp1251"), 4, "cena"),
    ("bad-group.spr", UPDATE_SPR + "3003;;Перец;0;19.80;0;0;0;1;0;0;0;0;0;0;777;1\r\n".encode("cp1251"), 4, "idgroup"),
    ("bad.csv", "kind;code;name;price;stock\nitem;1001;Вода;47;5\nitem;3004;Соль;12;-1\n".encode(), 3, "stock"),
)


def test_bad_file_names_line_and_field_and_imports_nothing(tmp_path: Path) -> None:
    """A good file first; then each bad one is refused whole: the good rows all there, nothing of the bad."""
    data = tmp_path / "till"
    good = tmp_path / "price.spr"
    good.write_bytes(SPR)
    assert icecash("till", "price", "import", good, "--data", data).returncode == 0
    before = catalogue_dump(data)
    assert len(before[0]) == 5 and len(before[1]) == 1

    for name, content, line, field in BAD_FILES:
        bad = tmp_path / name
        bad.write_bytes(content)
        refused = icecash("till", "price", "import", bad, "--data", data)
        assert refused.returncode != 0, name
        text = flat(refused)
        assert f"line {line}, field {field}" in text, text
        assert f"строка {line}, поле {field}" in text, text
        assert "Imported" not in text
        assert catalogue_dump(data) == before, name  # nothing of the bad file, all of the good one


def test_bad_input_gives_a_message_not_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "till"
    missing = icecash("till", "price", "import", tmp_path / "nope.spr", "--data", data)
    assert missing.returncode != 0
    assert "nope.spr" in flat(missing) and "does not exist" in flat(missing)

    role = icecash("till", "user", "add", "vera", "--role", "boss", "--password", "secret", "--data", data)
    assert role.returncode != 0
    assert "'boss'" in flat(role) and "seller, cashier or admin" in flat(role)

    a_file = tmp_path / "file.txt"
    a_file.write_text("not a directory")
    spr = tmp_path / "price.spr"
    spr.write_bytes(SPR)
    not_dir = icecash("till", "price", "import", spr, "--data", a_file)
    assert not_dir.returncode != 0
    assert "--data" in flat(not_dir) and "cannot open the till database" in flat(not_dir)

    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "till.sqlite3").write_bytes(b"this is not an SQLite database, not at all" * 10)
    broken = icecash("till", "user", "add", "vera", "--password", "secret", "--data", garbage)
    assert broken.returncode != 0
    assert "cannot open the till database: file is not a database" in flat(broken)

    empty = tmp_path / "empty.spr"
    empty.write_bytes(b"")
    nothing = icecash("till", "price", "import", empty, "--data", data)
    assert nothing.returncode != 0 and "the file is empty" in flat(nothing)


ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>78]")


def icecash_on_a_terminal(*args: str | Path, timeout: float = 120) -> tuple[int, str]:
    """Run ``icecash`` with stdin, stdout and stderr on a real pseudo-terminal, as a person at a
    console runs it (so rich draws its live progress bar); the exit code and all it wrote, escapes stripped."""
    master, slave = os.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color", "PYTHONUNBUFFERED": "1"}
    for name in ("ICECASH_DATA", "NO_COLOR", "FORCE_COLOR", "TERM_PROGRAM", "CI", "GITHUB_ACTIONS"):
        env.pop(name, None)
    process = subprocess.Popen([str(ICECASH), *map(str, args)], stdin=slave, stdout=slave, stderr=slave,
                               cwd=REPO, env=env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:  # EIO: every holder of the terminal's other end has closed it
                if exc.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            chunks.append(chunk)
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait()
    text = ANSI.sub("", b"".join(chunks).decode("utf-8", "replace"))
    assert "Traceback" not in text, text
    return code, text


def test_price_import_on_a_terminal_shows_a_progress_bar(tmp_path: Path) -> None:
    """On a terminal the import draws a bar with its label and "done/total" that reaches the end."""
    rows = 3000
    price = tmp_path / "big.csv"
    price.write_text("code;name;price\n" + "".join(f"{50000 + n};Товар {n};{n % 500 + 1}.50\n" for n in range(rows)),
                     encoding="utf-8")
    data = tmp_path / "till"
    code, text = icecash_on_a_terminal("till", "price", "import", price, "--data", data)
    assert code == 0, text
    assert "Загрузка / import" in text, text
    assert f"{rows}/{rows}" in text, text  # the bar followed the import to its last row
    assert "━" in text, text  # the bar itself
    assert text.count("Загрузка / import") >= 2, text  # drawn live, frame after frame (a pipe gets the last one only)
    assert f"Imported: {rows} items" in text, text
    found = rows_by_code(data)
    assert len(found) == rows
    assert (found["50000"]["name"], found["50000"]["price"], found["52999"]["price"]) == ("Товар 0", 150, 50050)


def test_user_add_creates_a_user_who_can_log_in(tmp_path: Path) -> None:
    data = tmp_path / "till"
    done = icecash("till", "user", "add", "anna", "--role", "admin", "--password", "s3cret-pw", "--name", "Анна",
                   "--data", data)
    assert done.returncode == 0, done.stderr
    assert "anna" in done.stdout and "Администратор" in done.stdout

    again = icecash("till", "user", "add", "anna", "--password", "other-pw", "--data", data)
    assert again.returncode != 0
    assert "Login 'anna' is taken" in flat(again) and "[login]" in flat(again)

    till = open_till(data)
    with TestClient(create_app(till)) as http:
        answer = http.post("/api/v1/auth/login", json={"login": "anna", "password": "s3cret-pw"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["user"] == {
            "id": 1, "login": "anna", "name": "Анна", "role": "admin", "role_level": int(Role.ADMIN),
            "theme": "light", "language": "ru",
        }
        assert http.post("/api/v1/auth/login", json={"login": "anna", "password": "other-pw"}).status_code == 400
    assert [row.login for row in till.list_users(till.login("anna", "s3cret-pw")[1])] == ["anna"]


def test_openapi_prints_the_api_as_json(tmp_path: Path) -> None:
    done = icecash("till", "openapi")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["info"]["title"] == "IceCash till"
    paths = document["paths"]
    assert len(paths) > 20
    assert all(path.startswith("/api/v1/") for path in paths), [p for p in paths if not p.startswith("/api/v1/")]
    for path in ("/api/v1/receipt/pay", "/api/v1/catalogue/import", "/api/v1/reports/z", "/api/v1/auth/login"):
        assert path in paths
    assert "post" in paths["/api/v1/receipt/pay"]

    target = tmp_path / "openapi.json"
    written = icecash("till", "openapi", "--output", target)
    assert written.returncode == 0 and written.stdout == ""
    assert json.loads(target.read_text(encoding="utf-8")) == document
