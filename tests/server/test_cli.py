"""``icecash server`` set-up commands: firms, people, shops, tills (the secret printed once), price push."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from icecash.cli import app
from icecash.server.app import open_server

runner = CliRunner()


def run(data: Path, *args: str):
    return runner.invoke(app, ["server", "--data", str(data), *args], catch_exceptions=False)


def test_setting_up_a_firm_from_the_command_line(tmp_path: Path):
    data = tmp_path / "server"
    assert run(data, "firm", "add", "romashka", "--name", "ООО «Ромашка»").exit_code == 0
    assert run(data, "user", "add", "boss", "--role", "operator", "--password", "long-enough").exit_code == 0
    assert run(data, "user", "add", "ivanova", "--role", "admin", "--firm", "romashka", "--password", "short").exit_code == 2
    assert run(data, "shop", "add", "romashka", "1", "--name", "Ленина, 1").exit_code == 0
    added = run(data, "till", "add", "romashka", "1", "1", "--price-list", "main")
    assert added.exit_code == 0
    secret = re.search(r"shown once\):\n(\S+)", added.stdout).group(1)
    server = open_server(data)
    assert server.till_login("romashka", 1, 1, secret)[1].nkassa == 1
    again = run(data, "till", "add", "romashka", "1", "1")
    assert again.exit_code == 2 and "till_exists" not in again.stdout  # a message, not a code or a trace
    price = tmp_path / "p.csv"
    price.write_text("code;name;price\n1001;Молоко;89.90\n", encoding="utf-8")
    pushed = run(data, "price", "push", "romashka", "main", str(price))
    assert pushed.exit_code == 0 and "версия 1" in pushed.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("code;name;price\n1001;Молоко;abc\n", encoding="utf-8")
    refused = run(data, "price", "push", "romashka", "main", str(bad))
    assert refused.exit_code == 2 and "price" in refused.stdout + (refused.stderr or "")
    assert run(data, "firm", "add", "../etc").exit_code == 2
    assert "romashka" in run(data, "firm", "list").stdout
