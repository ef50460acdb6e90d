"""Demo data: a grocery catalogue of groups, piece and weighed goods, multi-price items and
alcohol, discount cards, and one user of each role. Deterministic, so docs can quote it.

Only ``icecash demo`` (and tests and benchmarks) load it: a production till has no demo users.
"""

from __future__ import annotations

import random

from icecash.core.barcodes import make_ean13
from icecash.core.pricefile import CatalogueRow, ExtraBarcodeRow, PriceFile, PriceHeader, StockMode
from icecash.core.roles import Role
from icecash.core.vat import VatRate

from .service import Till

DEMO_USERS = (
    # login, password, role, name, user card
    ("admin", "admin", Role.ADMIN, "Администратор", "1110000000017"),
    ("kassir", "kassir", Role.CASHIER, "Кассир Иванова", "1110000000024"),
    ("seller", "seller", Role.SELLER, "Продавец Петров", "1110000000031"),
)

DEMO_CARDS = (
    ("2220000000011", 500, "Скидка 5%"),
    ("2220000000028", 1000, "Скидка 10%"),
)

# A few fixed items the README and the docs walk through.
MILK = CatalogueRow(0, "1001", "4601234567893", "Молоко 3,2% 1 л", True, "10", 8990, 8000, 12000, 1000,
                    department=1, vat=VatRate.VAT10, stock=50_000)
BREAD = CatalogueRow(0, "1002", make_ean13("460123400002"), "Хлеб Бородинский", True, "10", 5490, 4500, 0, 2000,
                     department=1, vat=VatRate.VAT10, stock=30_000)
CHEESE = CatalogueRow(0, "1003", make_ean13("460123400003"), "Сыр Российский, кг", True, "11", 65000, 55000, 0, 1500,
                      weighed=True, department=1, vat=VatRate.VAT10, stock=12_500)
VODKA = CatalogueRow(0, "1004", make_ean13("460123400004"), "Водка «Пшеничная» 0,5 л", True, "30", 49900, 37900, 0, 0,
                     department=2, vat=VatRate.VAT20, alcohol=True, litres_ml=500, stock=24_000)
WATER = CatalogueRow(0, "1005", make_ean13("460123400005"), "Вода питьевая 1,5 л", True, "20", 4500, 3000, 0, 1000,
                     department=1, vat=VatRate.VAT20, stock=100_000)
FIXED_ITEMS = (MILK, BREAD, CHEESE, VODKA, WATER)
# Water is multi-price: a single bottle and a six-pack barcode.
FIXED_EXTRAS = (
    ExtraBarcodeRow(0, "1005", make_ean13("460123400105"), "Вода питьевая 1,5 л, упаковка 6 шт", 0, 6000),
    ExtraBarcodeRow(0, "1005", make_ean13("460123400205"), "Вода питьевая 1,5 л, акция", 3900, 0),
)

GROUPS = (
    ("1", None, "Продукты"),
    ("10", "1", "Молочные продукты и хлеб"),
    ("11", "1", "Сыры и колбасы (весовые)"),
    ("12", "1", "Бакалея"),
    ("13", "1", "Овощи и фрукты (весовые)"),
    ("2", None, "Напитки"),
    ("20", "2", "Вода и соки"),
    ("3", None, "Алкоголь"),
    ("30", "3", "Крепкий алкоголь"),
    ("31", "3", "Пиво"),
    ("4", None, "Бытовая химия"),
)

_WORDS = {
    "10": (["Кефир", "Йогурт", "Творог", "Сметана", "Ряженка", "Батон", "Булка", "Лаваш"],
           ["фермерский", "классический", "нежный", "домашний", "отборный"], False, VatRate.VAT10),
    "11": (["Сыр", "Колбаса", "Ветчина", "Буженина", "Сервелат"],
           ["Гауда", "Докторская", "Пошехонский", "Столичная", "копчёная"], True, VatRate.VAT10),
    "12": (["Гречка", "Рис", "Макароны", "Сахар", "Мука", "Чай", "Кофе"],
           ["ядрица", "длиннозёрный", "рожки", "песок", "высший сорт", "чёрный", "молотый"], False, VatRate.VAT10),
    "13": (["Яблоки", "Бананы", "Картофель", "Морковь", "Помидоры", "Огурцы"],
           ["Гала", "Эквадор", "молодой", "мытая", "сливка", "грунтовые"], True, VatRate.VAT10),
    "20": (["Сок", "Морс", "Лимонад", "Квас", "Вода"],
           ["яблочный", "клюквенный", "грушевый", "хлебный", "газированная"], False, VatRate.VAT20),
    "30": (["Коньяк", "Виски", "Водка", "Ром"], ["выдержанный", "купажированный", "мягкая", "золотой"], False, VatRate.VAT20),
    "31": (["Пиво"], ["светлое", "тёмное", "нефильтрованное", "пшеничное"], False, VatRate.VAT20),
    "4": (["Порошок", "Мыло", "Средство для посуды", "Шампунь"], ["лимон", "алоэ", "лаванда", "морской бриз"], False, VatRate.VAT20),
}


def demo_price_file(items: int = 1200, seed: int = 2026) -> PriceFile:
    """A catalogue of ``items`` items (at least the fixed ones) in the demo groups."""
    rng = random.Random(seed)
    rows: list[CatalogueRow] = [CatalogueRow(0, code, "", name, False, parent) for code, parent, name in GROUPS]
    rows.extend(FIXED_ITEMS)
    groups = list(_WORDS)
    for n in range(max(0, items - len(FIXED_ITEMS))):
        group = groups[n % len(groups)]
        nouns, adjectives, weighed, vat = _WORDS[group]
        name = f"{rng.choice(nouns)} {rng.choice(adjectives)} №{n + 1}"
        price = rng.randrange(1990, 199_000, 10)
        alcohol = group in ("30", "31")
        code = str(10_000 + n)
        rows.append(
            CatalogueRow(
                0, code, make_ean13(f"46{20_000_000 + n:09d}0"[:12]), name + (", кг" if weighed else ""), True, group,
                price=price, min_price=price * 8 // 10, max_price=0 if rng.random() < 0.7 else price * 12 // 10,
                max_discount_bp=rng.choice((0, 500, 1000, 2000)), weighed=weighed, department=2 if alcohol else 1,
                vat=vat, alcohol=alcohol, litres_ml=500 if alcohol else 0, stock=rng.randrange(0, 200) * 1000,
            )
        )
    return PriceFile(PriceHeader(replace_catalogue=True, stock_mode=StockMode.CLEAR), rows, list(FIXED_EXTRAS), "demo")


def seed_demo(till: Till, items: int = 1200) -> None:
    """Load the demo catalogue, cards and users into an empty till (a no-op when users exist)."""
    if till.has_users():
        return
    till.import_price_file(None, demo_price_file(items))
    for number, rate_bp, name in DEMO_CARDS:
        till.add_discount_card(None, number, rate_bp, name)
    for login, password, role, name, code in DEMO_USERS:
        till.create_user(None, login, password, role, name, code)
    till.update_settings(
        None,
        {"orgname": "ООО «Демо-Маркет»", "placename": "г. Москва, ул. Примерная, д. 1", "inn": "7707083893"}
    )
