"""The settings file: flags beat ICECASH_* variables, which beat icecash.toml, which beats defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ICECASH = Path(sys.executable).parent / "icecash"


def run(cwd: Path, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ICECASH_")}
    result = subprocess.run(
        [str(ICECASH), *map(str, args)], capture_output=True, text=True, timeout=60, cwd=cwd,
        env={**clean, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})},
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stdout + result.stderr
    return result


def add_user(cwd: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run(cwd, *extra, "till", "user", "add", "anna", "--role", "cashier", "--password", "secret-1", env=env)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    return tmp_path / "work"


def test_file_sets_the_till_data_directory(home: Path) -> None:
    (home / "site.toml").write_text('[till]\ndata = "from-file"\nport = 10119\n', encoding="utf-8")
    result = add_user(home, "--config", "site.toml")
    assert result.returncode == 0, result.stderr
    assert (home / "from-file" / "till.sqlite3").is_file()
    assert not (home / "var").exists()


def test_local_icecash_toml_is_read_without_a_flag(home: Path) -> None:
    (home / "icecash.toml").write_text('[till]\ndata = "local-data"\n', encoding="utf-8")
    assert add_user(home).returncode == 0
    assert (home / "local-data" / "till.sqlite3").is_file()


def test_environment_beats_the_file_and_the_flag_beats_both(home: Path) -> None:
    (home / "icecash.toml").write_text('[till]\ndata = "from-file"\n', encoding="utf-8")
    assert add_user(home, env={"ICECASH_DATA": str(home / "from-env")}).returncode == 0
    assert (home / "from-env" / "till.sqlite3").is_file()
    assert not (home / "from-file").exists()
    result = run(home, "till", "--data", "from-flag", "user", "add", "bob", "--password", "secret-2",
                 env={"ICECASH_DATA": str(home / "from-env")})
    assert result.returncode == 0, result.stderr
    assert (home / "from-flag" / "till.sqlite3").is_file()


def test_config_named_by_environment(home: Path) -> None:
    (home / "elsewhere.toml").write_text('[till]\ndata = "by-env-config"\n', encoding="utf-8")
    assert add_user(home, env={"ICECASH_CONFIG": str(home / "elsewhere.toml")}).returncode == 0
    assert (home / "by-env-config" / "till.sqlite3").is_file()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[till]\nprot = 1\n', "'till.prot'"),
        ('[tlil]\ndata = "x"\n', "'tlil'"),
        ('[till]\ndata = \n', "TOML"),
        ('[till]\nport = "many"\n', "port"),
        ('till = 5\n', "[till]"),
    ],
)
def test_bad_file_is_refused_by_name_and_key(home: Path, text: str, expected: str) -> None:
    (home / "icecash.toml").write_text(text, encoding="utf-8")
    result = add_user(home)
    assert result.returncode == 2
    assert expected in result.stderr, result.stderr
    assert not (home / "var").exists() and not (home / "x").exists()


def test_missing_named_file_is_an_error(home: Path) -> None:
    result = add_user(home, "--config", "nope.toml")
    assert result.returncode == 2
    assert "nope.toml" in result.stderr and "not found" in result.stderr
