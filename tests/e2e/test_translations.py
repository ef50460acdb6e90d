"""Every text of the UI has a Russian translation with the same placeholders (no browser needed)."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from icecash.till.ui import i18n

REPO = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%%")


def _extracted() -> set:
    method_map = [("src/icecash/till/ui/**.py", "python"), ("src/icecash/till/templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(str(REPO), method_map, keywords=keywords):
        found.add(message)
    return found


def test_every_ui_text_is_translated_to_russian():
    with (i18n.LOCALE_DIR / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as fp:
        catalog = read_po(fp, locale="ru")
    extracted = _extracted()
    assert len(extracted) > 150  # the extractor really read the templates
    missing, broken = [], []
    for message in extracted:
        entry = catalog.get(message)
        if entry is None or not entry.string or (isinstance(entry.string, tuple) and not all(entry.string)):
            missing.append(message)
            continue
        ids = message if isinstance(message, tuple) else (message,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        wanted = sorted(PLACEHOLDER.findall(ids[0]))
        broken += [(message, s) for s in strings if sorted(PLACEHOLDER.findall(s)) != wanted]
    assert not missing, f"untranslated (run pybabel extract/update, see babel.cfg): {missing}"
    assert not broken, f"placeholders differ: {broken}"


def test_the_catalogue_loads_at_run_time_and_english_is_the_source():
    assert i18n.translations("ru").gettext("Payment") == "Оплата"
    assert i18n.translations("en").gettext("Payment") == "Payment"
    assert i18n.translations("ru").ngettext("%(num)d line", "%(num)d lines", 5) == "%(num)d строк"
    assert i18n.money("1234567.05", "ru") == "1\u202f234\u202f567,05"
    assert i18n.money("-1234.50", "en") == "-1,234.50"
    assert i18n.quantity("0.250", "ru") == "0,250" and i18n.quantity("3.000", "ru") == "3"
    assert not list(i18n.LOCALE_DIR.rglob("*.mo")), "no compiled catalogues in the source tree"
