"""Named device errors: every failure of a printer, registrar or its link carries a stable code
and a message in Russian and English, and reaches the caller (nothing is swallowed).

``DeviceError`` is a :class:`~icecash.core.errors.DomainError` of kind ``"device"`` so the shared
FastAPI handlers in :mod:`icecash.web` turn it into the usual JSON error body.
"""

from __future__ import annotations

from typing import Any

from icecash.core.errors import DomainError


class DeviceError(DomainError):
    """A device or its connection refused or failed: ``code``, ``message_ru``, ``message_en``.

    ``details`` may carry protocol facts (``device_code`` = the device's own error byte, the command).
    """

    kind = "device"

    def __init__(self, code: str, message_ru: str, message_en: str, field: str | None = None, **details: Any):
        super().__init__(code, message_ru, message_en, field, **details)

    def __str__(self) -> str:
        return f"{self.code}: {self.message_en}"


class TransportError(DeviceError):
    """The link to the device failed: cannot open, closed by the other side, write failed."""


class TransportTimeout(TransportError):
    """The device did not answer in time; ``partial`` holds the bytes that did arrive."""

    def __init__(self, code: str, message_ru: str, message_en: str, field: str | None = None,
                 partial: bytes = b"", **details: Any):
        super().__init__(code, message_ru, message_en, field, **details)
        self.partial = partial
