"""``icecash billing init``: a commented example home directory, ready for a first daily run."""

from __future__ import annotations

import os
from pathlib import Path

from icecash.billing.files import write_atomic

BILLING_TOML = """\
# IceCash accounting server (amstat) — main settings.
# The environment overrides: ICECASH_SMTP_HOST, ICECASH_SMTP_PORT, ICECASH_SMTP_SENDER,
# ICECASH_SMTP_USER, ICECASH_SMTP_PASSWORD, ICECASH_BILLING_ADMIN, ICECASH_SERVER_URL,
# ICECASH_BILLING_TOKEN.

[billing]
# Started as root, programs (account `daily`, service scripts, user-close …) run as this user.
user = "icecash"
# Seconds a program may run before it is killed and the failure logged.
program_timeout = 60
# The database: empty = billing.sqlite3 here; or the central server's, e.g.
# db = "postgresql+psycopg://icecash@127.0.0.1/icecash"
db = ""

[mail]
host = "127.0.0.1"
port = 25
sender = "billing@example.ru"
username = ""
password = ""
starttls = false
# Receives the day's failure log.
admin = "admin@example.ru"

[central]
# The central server that user-close / user-open suspend and lift firms on.
url = "http://127.0.0.1:10100"
token = ""
# Its database, read by the built-in collectors (@receipts …); empty = the billing database.
db = ""

[backup]
# How many daily backups (home and database) to keep.
keep = 14
"""

SERVICES_CF = """\
# Виды сервиса / services.
#имя      daily script   monthly script   .st files
#
# @name is a built-in collector of the central server's data (it measures yesterday).
receipts   @receipts      no               receipts.st
tills      @tills         no               tills.st
storage    @storage       no               storage.st
prices     @pricelists    no               pricelists.st
# An operator's own service: a script in bin/ or PATH writes misc.st in account directories.
misc       no             no               misc.st
"""

WARN_CF = """\
# Примеры критериев / criteria (money in kopecks: 50000 = 500.00 ₽):
#
# Если остаток с учетом расходов в текущем месяце меньше 500 руб.
criterion       total() < 50000

# Если остаток меньше 500 руб. или меньше среднего расхода за последние три месяца
###criterion    total() < max(50000,statistic(-.2,.)/3)

# Проверок делать не надо (полезно лишь в персональном файле счёта)
###criterion    0

# Обычное предупреждение / an ordinary warning
0               =warn.fm

# "Завтра Вы будете закрыты" / "you will be closed tomorrow"
10              =warn-close1.fm

# Уведомление о закрытии и закрываем / notice of closing, and close
11              =warn-close.fm          user-close
"""

PRICE_LIST = """\
# Прайс-лист / price list: item  price (₽)  per (units)  description
# cost = quantity × price / per, rounded half-up once per item per month.
receipts        0.05      1       чек, выгруженный на сервер / receipt uploaded
tills           10.00     1       касса за день работы / till-day
storage.mb      0.10      1       мегабайт-день хранения / megabyte-day of storage
pricelists      1.00      1       рассылка прайс-листа / price list push
misc.*          1.00      1       прочее / other services
"""

WARN_FM = """\
Subject: Остаток на счёте ${account} / balance of ${account}

Уважаемый клиент!

Остаток на Вашем счёте ${account}: ${total():%m} руб. Пожалуйста, пополните счёт.
Your balance is ${total():%m} RUB; please top it up.

Начисления за ${month} / charges of ${month}:
${charges}
"""

WARN_CLOSE1_FM = """\
Subject: Завтра обслуживание будет приостановлено / service suspended tomorrow

Остаток на счёте ${account}: ${total():%m} руб. Если счёт не будет пополнен,
завтра обслуживание касс будет приостановлено (кассы продолжат продавать без связи).
Balance ${total():%m} RUB: unless paid, service is suspended tomorrow.
"""

WARN_CLOSE_FM = """\
Subject: Обслуживание приостановлено / service suspended

Обслуживание счёта ${account} приостановлено: остаток ${total():%m} руб.
После оплаты оно будет возобновлено автоматически.
Service suspended (balance ${total():%m} RUB); it resumes automatically once paid.
"""

HELP_FM = """\
Subject: IceCash billing: help

Команды (по одной в строке) / commands (one per line):
  help            эта справка / this help
  balance         остаток и начисления / balance and charges
  services        виды сервиса / services
  prices          ваши прайс-листы / your price lists
  form ИМЯ        остальная часть письма становится формой ИМЯ.fm / the rest becomes form NAME.fm
"""

BALANCE_FM = """\
Subject: Остаток / balance

Счёт / account ${account}, ${date}
Остаток / balance: ${total():%m}
Платежи за месяц / payments this month: ${payments(.,.):%m}
${charges}
"""

USER_CF = """\
# Прайс-листы, по порядку поиска / price lists, searched in this order
prices  standard
# Куда слать отчёты и предупреждения / where reports and warnings go
mail    owner@demo-shop.example.ru
"""

DAILY_FM = """\
Subject: Ежедневный отчёт ${account} / daily report

Остаток / balance: ${total():%m} руб.
${charges}
"""


BIN_README = """\
The accounting server's programs: service scripts named in services.cf and programs named in
warn.cf are looked up here first, then in PATH. They run as the service user ([billing] user),
with a time limit and a clean environment.

user-close and user-open are built in (they suspend and lift the firm on the central server);
an executable of the same name placed here replaces them.
"""


def init_home(path: Path, example_account: str | None = "demo", force: bool = False) -> list[Path]:
    """Create the home directory; existing files are kept unless ``force``. Returns what was written."""
    files: dict[str, str] = {
        "billing.toml": BILLING_TOML,
        "services.cf": SERVICES_CF,
        "warn.cf": WARN_CF,
        "prices/standard": PRICE_LIST,
        "forms/warn.fm": WARN_FM,
        "forms/warn-close1.fm": WARN_CLOSE1_FM,
        "forms/warn-close.fm": WARN_CLOSE_FM,
        "forms/help.fm": HELP_FM,
        "forms/balance.fm": BALANCE_FM,
        "bin/README": BIN_README,
    }
    if example_account:
        files[f"accounts/{example_account}/user.cf"] = USER_CF
        files[f"accounts/{example_account}/daily.fm"] = DAILY_FM
        files[f"accounts/{example_account}/.count"] = "0\n"
    written: list[Path] = []
    for sub in ("prices", "forms", "bin", "backup", "accounts", "spool/new", "spool/cur", "spool/tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and not force:
            continue
        write_atomic(target, text, None)
        written.append(target)
    os.chmod(path / "billing.toml", 0o640)  # holds SMTP and central server credentials
    return written
