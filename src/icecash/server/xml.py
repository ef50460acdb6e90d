"""Z reports in the original IceServ XML shape (``<zet><head/><body><line/>…</body></zet>``) for 1C.

Built with ElementTree, never by string concatenation: every text is escaped. Money is written
as decimal rubles (``1234.50``) and quantities as decimal units (``0.250``), as 1C expects.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, SubElement, tostring

from icecash.core.money import format_money, format_quantity

_MONEY = {"sales_total", "returns_total", "cancels_total", "cash", "card", "sales_discount", "returns_discount",
          "cash_in", "cash_out", "revenue", "sold_total", "returned_total"}
_QUANTITY = {"sold_quantity", "returned_quantity"}


def _text(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key in _MONEY:
        return format_money(value)
    if key in _QUANTITY:
        return format_quantity(value)
    return str(value)


def z_to_xml(z: dict[str, Any]) -> bytes:
    root = Element("zet")
    head = SubElement(root, "head")
    for key, value in z.items():
        if key != "lines":
            SubElement(head, key).text = _text(key, value)
    body = SubElement(root, "body")
    for line in z.get("lines", []):
        element = SubElement(body, "line")
        for key, value in line.items():
            SubElement(element, key).text = _text(key, value)
    return tostring(root, encoding="utf-8", xml_declaration=True)
