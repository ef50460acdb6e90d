"""Named refusals of the domain: each says which field was wrong and why, in Russian and English.

Service layers turn a ``DomainError`` into a 4xx answer; its ``kind`` picks the status.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal a user can act on: a stable code, the field at fault and a message in two languages."""

    kind = "invalid"  # invalid · not_found · forbidden · conflict

    def __init__(self, code: str, message_ru: str, message_en: str, field: str | None = None, **details: Any):
        super().__init__(message_en)
        self.code = code
        self.field = field
        self.message_ru = message_ru
        self.message_en = message_en
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "field": self.field,
            "message": self.message_ru,
            "message_en": self.message_en,
        }
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, field={self.field!r})"


class InvalidInput(DomainError):
    kind = "invalid"


class NotFound(DomainError):
    kind = "not_found"


class Forbidden(DomainError):
    kind = "forbidden"


class Conflict(DomainError):
    kind = "conflict"
