"""docs/promotions.md stays complete: every command and every field the parser knows is described there."""

from __future__ import annotations

from pathlib import Path

import pytest

from icecash.core.promo.parser import ALL_COMMANDS, GROUP_FIELDS, HEAD_FIELDS, LINE_FIELDS

DOC = Path(__file__).resolve().parents[3] / "docs" / "promotions.md"
TEXT = DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("command", [c for c in ALL_COMMANDS if c != "SET"])
def test_every_command_has_a_section(command: str) -> None:
    assert f"#### `{command}" in TEXT or f"`{command}`" in TEXT.split("## 4.")[0], f"{command} is not described"


@pytest.mark.parametrize("field", sorted({*LINE_FIELDS, *HEAD_FIELDS, *GROUP_FIELDS}))
def test_every_field_is_in_a_table(field: str) -> None:
    assert f"| `{field}`" in TEXT or f", `{field}`" in TEXT, f"field {field} is not in the field tables"


def test_stages_and_rates_are_described() -> None:
    for needle in ("SET BEFORE_CALC", "SET AFTER_CALC", "sets.ИМЯ", "`0.10`", "`10%`"):
        assert needle in TEXT
