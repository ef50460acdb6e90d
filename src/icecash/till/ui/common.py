"""What the UI's pages share: templates, the user of a browser session, translations, refusals."""

from __future__ import annotations

import hashlib
from datetime import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from icecash import __version__
from icecash.core.errors import DomainError, InvalidInput
from icecash.core.money import parse_money, parse_quantity, parse_rate
from icecash.core.roles import Role

from ..api import SESSION_COOKIE, till_of
from ..service import Till, User
from . import i18n

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LANG_COOKIE = "icecash_lang"

env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=jinja2.select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
# A query string that changes with the version: browsers may cache static files for long.
STATIC_VERSION = hashlib.sha256(__version__.encode()).hexdigest()[:8]


N_ = i18n.N_
# Line marks (core.receipt) as short labels on the line.
MARKS = {
    "#": N_("no discount"), "$": N_("price limit"), "A": N_("alcohol"), "p": N_("price changed"),
    "s": N_("manual discount"), "+": N_("qty changed"), "c": N_("storno"),
}
# The texts the page's script shows (dialogs' titles, prompts, connection state).
JS_TEXTS = {
    "quantity": N_("Quantity"), "price": N_("Price"), "discount": N_("Discount %"),
    "no_line": N_("Select a line first (↑ ↓)"), "offline": N_("No connection to the till: retrying…"),
    "online": N_("Connection restored"), "cancel_title": N_("Cancel the receipt?"),
    "cancel_text": N_("The receipt is kept as cancelled and counted in the Z report."),
    "z_title": N_("Take the Z report?"), "z_text": N_("The shift is closed; a new one opens with the next sale."),
    "deferred": N_("Deferred receipts"), "catalogue": N_("Catalogue"), "return": N_("Return"),
    "x": N_("X report"), "z": N_("Z report"), "copy": N_("Copy of the last receipt"), "prices": N_("Choose a price"),
    "change": N_("Change"), "short": N_("Not enough"), "not_number": N_("Not an amount"),
    "cashier_only": N_("Only a cashier may do this"), "empty": N_("The receipt is empty"),
    "drawer_none": N_("The cash drawer opens through the receipt printer: no printer is set up"),
    "exact": N_("Exact"), "line": N_("Line %(n)s: %(name)s"), "card_due": N_("To the card"),
    "cash_due": N_("Cash to pay"),
    "release_title": N_("Release the receipt?"),
    "release_text": N_("The till first asks the registrar whether it printed this receipt. If it did not, the receipt "
                       "becomes editable again: change it, pay it or cancel it — nothing was fiscalised and no money "
                       "was taken through the till. If the registrar did print it, the release is refused: retry the "
                       "payment instead, and the till marks it paid without printing it twice."),
}


class Guest:
    """The viewer of the login page: no user yet, a language from the cookie or the query."""

    role = Role.SELLER
    theme = "light"

    def __init__(self, language: str):
        self.language = language
        self.csrf_token = ""
        self.name = ""
        self.id = 0


def page_user(request: Request) -> User | None:
    """The user of the browser session cookie, or None (then the page redirects to the login)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    till = till_of(request)
    return till.cached_session(token) or till.authenticate(token)


def to_login() -> RedirectResponse:
    return RedirectResponse("/login", status_code=303)


def context(request: Request, user: User | Guest, **values: Any) -> dict[str, Any]:
    """Every template's variables: the user's language functions, theme, CSRF token and settings."""
    language = i18n.language_of(user.language)
    trans = i18n.translations(language)
    till: Till = till_of(request)
    return {
        "request": request, "user": user, "lang": language, "theme": user.theme if user.theme in ("light", "dark") else "light",
        "_": trans.gettext, "ngettext": trans.ngettext,
        "money": lambda text: i18n.money(text, language), "qty": lambda text: i18n.quantity(text, language),
        "pct": lambda text: i18n.percent(text, language),
        "hours": lambda value: f"{float(value):.1f}".replace(".", "," if language == "ru" else "."),
        "when": lambda text: stamp(text, language),
        "csrf": user.csrf_token, "settings": till.settings(), "static_version": STATIC_VERSION,
        "Role": Role, "role_name": role_name(user.role, trans.gettext),
        "mark_titles": {mark: trans.gettext(text) for mark, text in MARKS.items()},
        "js_texts": {name: trans.gettext(text) for name, text in JS_TEXTS.items()},
        **values,
    }


def stamp(text: str | None, language: str) -> str:
    """An ISO time for people: '14:05:09' today, '21.11 14:05' before ('11/21 14:05' in English)."""
    if not text:
        return ""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return text
    if when.date() == datetime.now(when.tzinfo).date():
        return when.strftime("%H:%M:%S")
    return when.strftime("%m/%d %H:%M" if language == "en" else "%d.%m %H:%M")


def render(name: str, ctx: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(ctx), status_code=status_code, headers=headers)


def role_name(role: Role, gettext: Callable[[str], str]) -> str:
    return {Role.SELLER: gettext("Seller"), Role.CASHIER: gettext("Cashier"), Role.ADMIN: gettext("Administrator")}[Role(role)]


def message_of(error: dict[str, Any] | DomainError, language: str) -> str:
    """A refusal's text in the user's language (the domain gives both)."""
    if isinstance(error, DomainError):
        return error.message_en if language == "en" else error.message_ru
    return error.get("message_en" if language == "en" else "message", "")


def parse_form_money(value: str | None, field: str, required: bool = True) -> int | None:
    """A money field of a form as kopecks; a refusal names the field in both languages."""
    return _parse(value, field, parse_money, "сумма", "an amount", required)


def parse_form_quantity(value: str | None, field: str, required: bool = True) -> int | None:
    return _parse(value, field, parse_quantity, "количество", "a quantity", required)


def parse_form_rate(value: str | None, field: str, required: bool = True) -> int | None:
    return _parse(value, field, parse_rate, "процент", "a percentage", required)


def _parse(value: str | None, field: str, parse: Callable[[str], int], what_ru: str, what_en: str, required: bool) -> int | None:
    text = (value or "").strip()
    if not text:
        if not required:
            return None
        raise InvalidInput("empty", f"Введите {what_ru}", f"Enter {what_en}", field=field)
    try:
        number = parse(text)
    except ValueError:
        raise InvalidInput("not_a_number", f"«{text}» — не {what_ru}", f"{text!r} is not {what_en}", field=field) from None
    if number < 0:
        raise InvalidInput("negative", f"Отрицательное значение: {text}", f"Negative value: {text}", field=field)
    return number


def idempotency_key(request: Request, key: str | None) -> str | None:
    """The key a browser sent for one user action, scoped to the route (as the JSON API scopes it)."""
    if not key:
        return None
    if len(key) > 128:
        raise InvalidInput("bad_idempotency_key", "Idempotency-Key длиннее 128 символов", "Idempotency-Key over 128 characters",
                           field="Idempotency-Key")
    return hashlib.sha256(f"ui {request.url.path}\n{key}".encode()).hexdigest()


def refusal(exc: DomainError) -> tuple[int, Any]:
    return 400, {"error": exc.as_dict()}
