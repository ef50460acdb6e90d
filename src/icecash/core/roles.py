"""Till roles, in the original's numbers: each includes everything the one below may do."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    SELLER = 10  # builds, defers and loads receipts
    CASHIER = 50  # also takes payment, makes returns, X/Z, cash in/out
    ADMIN = 100  # also manages settings, users and the catalogue

    @classmethod
    def parse(cls, value: str | int) -> "Role":
        if isinstance(value, str) and not value.isdigit():
            return cls[value.upper()]
        return cls(int(value))

    @property
    def label_ru(self) -> str:
        return {Role.SELLER: "Продавец", Role.CASHIER: "Кассир", Role.ADMIN: "Администратор"}[self]
