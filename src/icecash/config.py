"""The settings file `icecash.toml`: the third source of every command-line option.

Precedence, as ARCHITECTURE.md says: a flag on the command line, then its environment variable
(`ICECASH_*`), then this file, then the built-in default. The file mirrors the command tree: a
table per command (`[till]`, `[server]`, `[till.price.import]`…) whose keys are the long option
names (`data`, `port`, `log-level` or `log_level`). Unknown tables and keys are refused with
the path of the bad key, so a typo never goes silently unused.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

CONFIG_ENV = "ICECASH_CONFIG"
DEFAULT_NAME = "icecash.toml"


class ConfigError(ValueError):
    """A settings file that cannot be used; the message names the file and the key."""


def find_config(explicit: Path | None) -> Path | None:
    """--config, else $ICECASH_CONFIG, else ./icecash.toml when it exists, else none."""
    if explicit is not None:
        return explicit
    from_env = os.environ.get(CONFIG_ENV)
    if from_env:
        return Path(from_env)
    local = Path(DEFAULT_NAME)
    return local if local.is_file() else None


def load_default_map(path: Path, root: Any) -> dict[str, Any]:
    """The file as Click's default_map for `root`, checked against its commands and options."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: файл не найден / file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: не прочитать / cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: ошибка TOML / TOML syntax error: {exc}") from None
    return _convert(raw, root, path, ())


def _convert(table: dict[str, Any], command: Any, path: Path, where: tuple[str, ...]) -> dict[str, Any]:
    # Duck-typed: Typer carries its own copy of Click, so isinstance checks against click's classes fail.
    subcommands = getattr(command, "commands", {}) or {}
    options = {
        name.lstrip("-"): param
        for param in command.params
        if param.param_type_name == "option" and not param.is_eager
        for name in param.opts
        if name.startswith("--")
    }
    result: dict[str, Any] = {}
    for key, value in table.items():
        dotted = ".".join((*where, key))
        if key in subcommands:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{dotted}] должна быть таблицей / must be a table")
            result[key] = _convert(value, subcommands[key], path, (*where, key))
            continue
        param = options.get(key) or options.get(key.replace("_", "-"))
        if param is None:
            known = sorted(set(options) | set(subcommands))
            raise ConfigError(
                f"{path}: {dotted!r} — неизвестный параметр / unknown setting"
                f"{' in [' + '.'.join(where) + ']' if where else ''}; known: {', '.join(known) or 'none'}"
            )
        if isinstance(value, dict):
            raise ConfigError(f"{path}: {dotted!r} — ожидалось значение, не таблица / expected a value, not a table")
        result[param.name] = value
    return result
