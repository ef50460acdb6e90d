"""The UI's languages: Russian by default, English selectable; Babel catalogues read at run time.

Message ids are the English texts. ``src/icecash/locale/<lang>/LC_MESSAGES/messages.po`` holds
each translation; the .po files are compiled in memory when first needed (no .mo files in the
source tree). English needs no catalogue: its texts are the ids.
"""

from __future__ import annotations

import gettext
import io
import threading
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent.parent / "locale"
LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
_lock = threading.Lock()
NARROW_SPACE = "\u202f"  # the Russian thousands separator


def N_(message: str) -> str:
    """Marks a text for extraction where it is translated later (at render time)."""
    return message


def language_of(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    """The translations of ``language`` (a NullTranslations for English, the ids' own language)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po.exists():
        return gettext.NullTranslations()
    with _lock, po.open("rb") as fp:
        catalog = read_po(fp, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def money(text: str | None, language: str) -> str:
    """A view's machine money ('1234.50') for people: '1 234,50' in Russian, '1,234.50' in English."""
    if text is None or text == "":
        return ""
    sign = "-" if text.startswith("-") else ""
    whole, _, frac = text.lstrip("-").partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    if language == "en":
        return f"{sign}{','.join(groups)}.{frac or '00'}"
    return sign + NARROW_SPACE.join(groups) + "," + (frac or "00")


def quantity(text: str | None, language: str) -> str:
    """'1.000' → '1', '0.250' → '0,250' (Russian) or '0.250' (English)."""
    if not text:
        return ""
    whole, _, frac = text.partition(".")
    if not frac.strip("0"):
        return whole
    return f"{whole}{'.' if language == 'en' else ','}{frac}"


def percent(text: str | None, language: str) -> str:
    """'10.00' → '10', '2.50' → '2,5'."""
    if not text:
        return ""
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0")
    return f"{whole}{('.' if language == 'en' else ',') + frac if frac else ''}"
