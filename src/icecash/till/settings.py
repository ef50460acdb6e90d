"""The till's settings: grouped as in the original (server, client, shop, device), typed, validated.

Each setting is declared once here with its type, default and labels; the database holds only
values that differ from nothing (every declared setting is written on first start).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from typing import Any

from stdnum.exceptions import ValidationError as StdnumError
from stdnum.ru import inn as ru_inn

from icecash.core.barcodes import parse_prefixes
from icecash.core.errors import InvalidInput
from icecash.core.vat import parse_vat

GROUPS = ("server", "client", "shop", "device")


def _bad(name: str, ru: str, en: str) -> InvalidInput:
    return InvalidInput("bad_setting", ru, en, field=name)


def _as_int(lo: int, hi: int) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        text = str(value).strip()
        if not re.fullmatch(r"-?\d+", text) or not lo <= int(text) <= hi:
            raise _bad(name, f"{name}: нужно целое число от {lo} до {hi}, получено {value!r}",
                       f"{name}: expected a whole number from {lo} to {hi}, got {value!r}")
        return str(int(text))
    return check


def _as_bool(name: str, value: Any) -> str:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "да", "on"):
        return "1"
    if text in ("0", "false", "no", "нет", "off", ""):
        return "0"
    raise _bad(name, f"{name}: нужно да/нет, получено {value!r}", f"{name}: expected yes/no, got {value!r}")


def _as_text(max_len: int) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        text = "" if value is None else str(value)
        if len(text) > max_len or any(ord(c) < 32 and c not in "\n\t" for c in text):
            raise _bad(name, f"{name}: текст длиннее {max_len} символов или с управляющими символами",
                       f"{name}: text longer than {max_len} characters or with control characters")
        return text
    return check


def _as_time(name: str, value: Any) -> str:
    text = str(value).strip()
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise _bad(name, f"{name}: нужно время ЧЧ:ММ[:СС], получено {value!r}",
                   f"{name}: expected a time HH:MM[:SS], got {value!r}") from None
    return parsed.isoformat()


def _as_prefixes(name: str, value: Any) -> str:
    return ";".join(parse_prefixes(str(value), name))


def _as_inn(name: str, value: Any) -> str:
    text = str(value).strip()
    if not text:
        return ""
    try:
        return ru_inn.validate(text)
    except StdnumError:
        raise _bad(name, f"ИНН {text!r} неверен (длина или контрольные цифры)",
                   f"INN {text!r} is not valid (length or check digits)") from None


def _as_kpp(name: str, value: Any) -> str:
    text = str(value).strip()
    if text and not re.fullmatch(r"\d{4}[\dA-Z]{2}\d{3}", text):
        raise _bad(name, f"КПП {text!r} должен состоять из 9 знаков", f"KPP {text!r} must be 9 characters")
    return text


def _as_vat(name: str, value: Any) -> str:
    return parse_vat(value, field=name).value


def _as_host(name: str, value: Any) -> str:
    text = str(value).strip()
    if text and not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]{1,253}", text):
        raise _bad(name, f"{name}: неверное имя хоста {value!r}", f"{name}: not a host name {value!r}")
    return text


def _as_url(name: str, value: Any) -> str:
    text = str(value).strip()
    if text and not re.fullmatch(r"https?://[^\s]{1,500}", text):
        raise _bad(name, f"{name}: нужен адрес http:// или https://", f"{name}: expected an http:// or https:// URL")
    return text


@dataclass(frozen=True)
class SettingSpec:
    name: str
    group: str
    default: str
    check: Callable[[str, Any], str]
    label_ru: str
    label_en: str
    secret: bool = False


SPECS: tuple[SettingSpec, ...] = (
    # server: where the other services are
    SettingSpec("printd_host", "server", "localhost", _as_host, "Сервис печати: хост", "Print service host"),
    SettingSpec("printd_port", "server", "10111", _as_int(1, 65535), "Сервис печати: порт", "Print service port"),
    SettingSpec("printd_token", "server", "", _as_text(128), "Сервис печати: токен клиента", "Print service client token", secret=True),
    SettingSpec("server_url", "server", "", _as_url, "Центральный сервер (URL)", "Central server URL"),
    SettingSpec("regid", "server", "", _as_text(64), "Идентификатор фирмы (regid)", "Firm id (regid)"),
    SettingSpec("bonus_host", "server", "", _as_host, "Бонусный сервер: хост (пусто — нет)", "Bonus service host (empty: none)"),
    SettingSpec("bonus_port", "server", "7172", _as_int(1, 65535), "Бонусный сервер: порт", "Bonus service port"),
    SettingSpec("orders_host", "server", "localhost", _as_host, "Сервис заказов: хост", "Order service host"),
    SettingSpec("egais_host", "server", "localhost", _as_host, "УТМ ЕГАИС: хост", "EGAIS UTM host"),
    SettingSpec("sync_receipts_s", "server", "60", _as_int(1, 86400), "Выгрузка чеков: раз в, с", "Upload receipts every, s"),
    SettingSpec("sync_z_s", "server", "300", _as_int(1, 86400), "Выгрузка Z-отчётов: раз в, с", "Upload Z reports every, s"),
    SettingSpec("sync_price_s", "server", "600", _as_int(1, 86400), "Проверка прайса: раз в, с", "Check the price list every, s"),
    SettingSpec("sync_promotions_s", "server", "720", _as_int(1, 86400), "Проверка акций: раз в, с", "Check promotions every, s"),
    SettingSpec("sync_variables_s", "server", "840", _as_int(1, 86400), "Проверка переменных: раз в, с", "Check server variables every, s"),
    # client: the cashier's screen and scanner
    SettingSpec("timeout_ping", "client", "15", _as_int(1, 3600), "Интервал проверки связи, с", "Ping interval, s"),
    SettingSpec("timeout_query", "client", "60", _as_int(1, 3600), "Таймаут запроса, с", "Query timeout, s"),
    SettingSpec("scale_prefix", "client", "21", _as_prefixes, "Префиксы весового штрихкода", "Scale barcode prefixes"),
    SettingSpec("user_prefix", "client", "111", _as_prefixes, "Префиксы карты пользователя", "User card prefixes"),
    SettingSpec("discount_prefix", "client", "222", _as_prefixes, "Префиксы дисконтной карты", "Discount card prefixes"),
    SettingSpec("bonus_prefix", "client", "777", _as_prefixes, "Префиксы бонусной карты", "Bonus card prefixes"),
    # shop: who and where this till is
    SettingSpec("orgname", "shop", "", _as_text(256), "Организация", "Organisation"),
    SettingSpec("placename", "shop", "", _as_text(256), "Адрес торговой точки", "Shop address"),
    SettingSpec("inn", "shop", "", _as_inn, "ИНН", "INN (taxpayer number)"),
    SettingSpec("kpp", "shop", "", _as_kpp, "КПП", "KPP"),
    SettingSpec("texthead", "shop", "", _as_text(1000), "Текст в начале чека", "Receipt header text"),
    SettingSpec("textfoot", "shop", "", _as_text(1000), "Текст в конце чека", "Receipt footer text"),
    SettingSpec("idplace", "shop", "1", _as_int(1, 999_999_999), "Номер точки (idplace)", "Shop number (idplace)"),
    SettingSpec("nkassa", "shop", "1", _as_int(1, 999_999), "Номер кассы (nkassa)", "Till number (nkassa)"),
    SettingSpec("begin_time", "shop", "06:00:00", _as_time, "Начало торгового дня", "Trading day starts at"),
    SettingSpec("default_vat", "shop", "none", _as_vat, "НДС по умолчанию", "Default VAT rate"),
    SettingSpec("pricenum", "shop", "", _as_text(64), "Метка загруженного прайса", "Loaded price list stamp"),
    # device: printer and scanner
    SettingSpec("printer", "device", "", _as_text(64), "Принтер в сервисе печати (пусто — без печати)", "Printer in the print service (empty: none)"),
    SettingSpec("autocut", "device", "1", _as_bool, "Отрезать чек", "Cut the paper"),
    SettingSpec("print_number", "device", "1", _as_bool, "Печатать номер чека", "Print the receipt number"),
    SettingSpec("scanner_device", "device", "", _as_text(256), "Последовательный сканер (пусто — клавиатурный)", "Serial scanner (empty: keyboard wedge)"),
)

SPEC_BY_NAME = {spec.name: spec for spec in SPECS}
DEFAULTS = {spec.name: spec.default for spec in SPECS}


def validate_changes(changes: dict[str, Any]) -> dict[str, str]:
    """Every change checked before any is stored; the first bad one is refused by name."""
    clean: dict[str, str] = {}
    for name, value in changes.items():
        spec = SPEC_BY_NAME.get(name)
        if spec is None:
            raise InvalidInput("unknown_setting", f"Неизвестная настройка {name!r}", f"Unknown setting {name!r}", field=name)
        clean[name] = spec.check(name, value)
    return clean
