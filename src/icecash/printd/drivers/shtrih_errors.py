"""Every error byte a Shtrih-M registrar answers, named in Russian and English.

Codes 0x01–0x1F are the fiscal storage (ФН) errors of the FN-era firmware, 0x20 and up the
registrar's own (protocol 1.12). :func:`shtrih_error` turns a code into a raised
:class:`ShtrihError`; nothing is ever ignored.
"""

from __future__ import annotations

from typing import Any

from icecash.printd.errors import DeviceError

# code: (Russian, English)
ERRORS: dict[int, tuple[str, str]] = {
    0x00: ("Ошибок нет", "No error"),
    0x01: ("ФН: неизвестная команда, неверный формат посылки или неизвестные параметры",
           "FN: unknown command, bad frame format or unknown parameters"),
    0x02: ("ФН: неверное состояние ФН", "FN: the fiscal storage is in the wrong state"),
    0x03: ("ФН: ошибка ФН", "FN: fiscal storage failure"),
    0x04: ("ФН: ошибка КС", "FN: crypto processor failure"),
    0x05: ("ФН: закончен срок эксплуатации ФН", "FN: the fiscal storage has expired"),
    0x06: ("ФН: архив ФН переполнен", "FN: the fiscal storage archive is full"),
    0x07: ("ФН: неверные дата и/или время", "FN: wrong date and/or time"),
    0x08: ("ФН: нет запрошенных данных", "FN: no such data"),
    0x09: ("ФН: некорректное значение параметров команды", "FN: bad command parameter value"),
    0x10: ("ФН: превышение размеров TLV данных", "FN: TLV data too large"),
    0x11: ("ФН: нет транспортного соединения", "FN: no transport connection"),
    0x12: ("ФН: исчерпан ресурс КС", "FN: crypto processor resource exhausted"),
    0x14: ("ФН: исчерпан ресурс хранения", "FN: storage resource exhausted"),
    0x15: ("ФН: исчерпан ресурс ожидания передачи сообщения", "FN: message waiting time exhausted"),
    0x16: ("ФН: продолжительность смены более 24 часов", "FN: the shift is longer than 24 hours"),
    0x17: ("ФН: неверная разница во времени между двумя операциями",
           "FN: wrong time difference between two operations"),
    0x20: ("Переполнение денежного регистра при добавлении", "Money register overflow on addition"),
    0x21: ("Вычитаемая сумма больше содержимого денежного регистра",
           "The amount subtracted exceeds the money register"),
    0x22: ("Неверная дата", "Invalid date"),
    0x26: ("Вносимая клиентом сумма меньше суммы чека", "The customer pays less than the receipt total"),
    0x2B: ("Невозможно отменить предыдущую команду", "The previous command cannot be cancelled"),
    0x2C: ("Обнулённая касса (повторное гашение невозможно)", "The till is already zeroed (no second Z)"),
    0x2D: ("Сумма чека по секции меньше суммы сторно", "Department total is less than the void"),
    0x2E: ("В ФР нет денег для выплаты", "Not enough cash in the registrar for the pay-out"),
    0x30: ("ФР заблокирован, ждёт ввода пароля налогового инспектора",
           "Registrar locked, waiting for the tax inspector password"),
    0x32: ("Требуется выполнение общего гашения", "A general reset is required"),
    0x33: ("Некорректные параметры в команде", "Incorrect command parameters"),
    0x34: ("Нет данных", "No data"),
    0x35: ("Некорректный параметр при данных настройках", "Parameter not allowed with the current settings"),
    0x36: ("Некорректные параметры в команде для данной реализации ФР",
           "Parameters not supported by this registrar model"),
    0x37: ("Команда не поддерживается в данной реализации ФР", "Command not supported by this registrar model"),
    0x38: ("Ошибка в ПЗУ", "ROM error"),
    0x39: ("Внутренняя ошибка ПО ФР", "Internal firmware error"),
    0x3A: ("Переполнение накопления по надбавкам в смене", "Shift surcharge total overflow"),
    0x3B: ("Переполнение накопления в смене", "Shift total overflow"),
    0x3C: ("Смена открыта — операция невозможна", "The shift is open: operation not possible"),
    0x3D: ("Смена не открыта — операция невозможна", "The shift is not open: operation not possible"),
    0x3E: ("Переполнение накопления по секциям в смене", "Shift department total overflow"),
    0x3F: ("Переполнение накопления по скидкам в смене", "Shift discount total overflow"),
    0x40: ("Переполнение диапазона скидок", "Discount out of range"),
    0x41: ("Переполнение диапазона оплаты наличными", "Cash payment out of range"),
    0x42: ("Переполнение диапазона оплаты типом 2", "Payment type 2 out of range"),
    0x43: ("Переполнение диапазона оплаты типом 3", "Payment type 3 out of range"),
    0x44: ("Переполнение диапазона оплаты типом 4", "Payment type 4 out of range"),
    0x45: ("Сумма всех типов оплаты меньше итога чека", "Payments total less than the receipt total"),
    0x46: ("Не хватает наличности в кассе", "Not enough cash in the till"),
    0x47: ("Переполнение накопления по налогам в смене", "Shift tax total overflow"),
    0x48: ("Переполнение итога чека", "Receipt total overflow"),
    0x49: ("Операция невозможна в открытом чеке данного типа", "Operation not possible in this type of open receipt"),
    0x4A: ("Открыт чек — операция невозможна", "A receipt is open: operation not possible"),
    0x4B: ("Буфер чека переполнен", "Receipt buffer overflow"),
    0x4C: ("Переполнение накопления по обороту налогов в смене", "Shift tax turnover overflow"),
    0x4D: ("Вносимая безналичной оплатой сумма больше суммы чека",
           "Cashless payment exceeds the receipt total"),
    0x4E: ("Смена превысила 24 часа", "The shift is longer than 24 hours"),
    0x4F: ("Неверный пароль", "Wrong password"),
    0x50: ("Идёт печать предыдущей команды", "Still printing the previous command"),
    0x51: ("Переполнение накоплений наличными в смене", "Shift cash total overflow"),
    0x52: ("Переполнение накоплений по типу оплаты 2 в смене", "Shift payment type 2 total overflow"),
    0x53: ("Переполнение накоплений по типу оплаты 3 в смене", "Shift payment type 3 total overflow"),
    0x54: ("Переполнение накоплений по типу оплаты 4 в смене", "Shift payment type 4 total overflow"),
    0x55: ("Чек закрыт — операция невозможна", "The receipt is closed: operation not possible"),
    0x56: ("Нет документа для повтора", "No document to repeat"),
    0x58: ("Ожидание команды продолжения печати", "Waiting for the continue-printing command"),
    0x59: ("Документ открыт другим оператором", "The document was opened by another operator"),
    0x5A: ("Скидка превышает накопления в чеке", "The discount exceeds the receipt total"),
    0x5B: ("Переполнение диапазона надбавок", "Surcharge out of range"),
    0x5C: ("Понижено напряжение 24В", "Low 24 V supply voltage"),
    0x5D: ("Таблица не определена", "No such table"),
    0x5E: ("Неверная операция", "Invalid operation"),
    0x5F: ("Отрицательный итог чека", "Negative receipt total"),
    0x60: ("Переполнение при умножении", "Overflow on multiplication"),
    0x61: ("Переполнение диапазона цены", "Price out of range"),
    0x62: ("Переполнение диапазона количества", "Quantity out of range"),
    0x63: ("Переполнение диапазона отдела", "Department out of range"),
    0x65: ("Не хватает денег в секции", "Not enough money in the department"),
    0x66: ("Переполнение денег в секции", "Department money overflow"),
    0x68: ("Не хватает денег по обороту налогов", "Not enough tax turnover"),
    0x69: ("Переполнение денег по обороту налогов", "Tax turnover overflow"),
    0x6A: ("Ошибка питания в момент ответа по I2C", "Power failure during an I2C answer"),
    0x6B: ("Нет чековой ленты", "No receipt paper"),
    0x6C: ("Нет контрольной ленты", "No journal paper"),
    0x6D: ("Не хватает денег по налогу", "Not enough tax money"),
    0x6E: ("Переполнение денег по налогу", "Tax money overflow"),
    0x6F: ("Переполнение по выплате в смене", "Shift pay-out overflow"),
    0x71: ("Ошибка отрезчика", "Cutter failure"),
    0x72: ("Команда не поддерживается в данном подрежиме", "Command not supported in this submode"),
    0x73: ("Команда не поддерживается в данном режиме", "Command not supported in this mode"),
    0x74: ("Ошибка ОЗУ", "RAM failure"),
    0x75: ("Ошибка питания", "Power supply failure"),
    0x76: ("Ошибка принтера: нет импульсов с тахогенератора", "Printer failure: no tachometer pulses"),
    0x77: ("Ошибка принтера: нет сигнала с датчиков", "Printer failure: no signal from the sensors"),
    0x78: ("Замена ПО", "Firmware replaced"),
    0x7A: ("Поле не редактируется", "The field cannot be edited"),
    0x7B: ("Ошибка оборудования", "Hardware failure"),
    0x7C: ("Не совпадает дата", "Date mismatch"),
    0x7D: ("Неверный формат даты", "Invalid date format"),
    0x7E: ("Неверное значение в поле длины", "Invalid value in the length field"),
    0x7F: ("Переполнение диапазона итога чека", "Receipt total out of range"),
    0x84: ("Переполнение наличности", "Cash overflow"),
    0x85: ("Переполнение по продажам в смене", "Shift sales overflow"),
    0x86: ("Переполнение по покупкам в смене", "Shift purchases overflow"),
    0x87: ("Переполнение по возвратам продаж в смене", "Shift sale returns overflow"),
    0x88: ("Переполнение по возвратам покупок в смене", "Shift purchase returns overflow"),
    0x89: ("Переполнение по внесению в смене", "Shift cash-in overflow"),
    0x8A: ("Переполнение по надбавкам в чеке", "Receipt surcharge overflow"),
    0x8B: ("Переполнение по скидкам в чеке", "Receipt discount overflow"),
    0x8C: ("Отрицательный итог надбавки в чеке", "Negative receipt surcharge total"),
    0x8D: ("Отрицательный итог скидки в чеке", "Negative receipt discount total"),
    0x8E: ("Нулевой итог чека", "Zero receipt total"),
    0x8F: ("Касса не фискализирована", "The registrar is not fiscalised"),
    0x90: ("Поле превышает размер, установленный в настройках", "The field is longer than the settings allow"),
    0x91: ("Выход за границу поля печати при данных настройках шрифта",
           "Beyond the print area with these font settings"),
    0x92: ("Наложение полей", "Fields overlap"),
    0x93: ("Восстановление ОЗУ прошло успешно", "RAM recovered successfully"),
    0x94: ("Исчерпан лимит операций в чеке", "Receipt operation limit reached"),
    0x96: ("Выполните суточный отчёт с гашением", "A Z report is required"),
    0xC0: ("Контроль даты и времени (подтвердите дату и время)", "Confirm the date and time"),
    0xC2: ("Превышение напряжения в блоке питания", "Power supply over-voltage"),
    0xC4: ("Несовпадение номеров смен", "Shift numbers do not match"),
    0xC7: ("Поле не редактируется в данном режиме", "The field cannot be edited in this mode"),
    0xC8: ("Нет связи с принтером или отсутствуют импульсы от таходатчика",
           "No link to the printer or no tachometer pulses"),
}

# Errors about paper: the host waits for paper and continues (command B0) rather than giving up.
PAPER_ERRORS = frozenset({0x6B, 0x6C, 0x58})


class ShtrihError(DeviceError):
    """The registrar refused a command: ``device_code`` is its error byte, ``command`` the command."""

    def __init__(self, device_code: int, command: int, message_ru: str, message_en: str, **details: Any):
        super().__init__(f"shtrih_{device_code:02x}", message_ru, message_en, None,
                         device_code=device_code, command=f"{command:02X}", **details)
        self.device_code = device_code
        self.command = command


def error_text(code: int) -> tuple[str, str]:
    """Russian and English names of an error byte (an unknown byte is named as such, never hidden)."""
    if code in ERRORS:
        return ERRORS[code]
    return (f"Неизвестная ошибка ФР 0x{code:02X}", f"Unknown registrar error 0x{code:02X}")


def shtrih_error(code: int, command: int, **details: Any) -> ShtrihError:
    """The exception for error byte ``code`` answered to ``command``."""
    ru, en = error_text(code)
    return ShtrihError(code, command, f"ККТ Штрих-М: {ru} (код 0x{code:02X}, команда {command:02X}h)",
                       f"Shtrih-M: {en} (code 0x{code:02X}, command {command:02X}h)", **details)
