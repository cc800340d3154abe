"""User-facing messages in Russian (the default) and English.

Everything a broker or a client sees goes through :func:`t`; code, logs and docs stay English.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_LANG = "ru"
LANGS = ("ru", "en")

MESSAGES: dict[str, Mapping[str, str]] = {
    "auth.missing": {
        "ru": "Нет токена авторизации amoCRM (заголовок X-Auth-Token).",
        "en": "The amoCRM authorization token (X-Auth-Token header) is missing.",
    },
    "auth.invalid": {
        "ru": "Токен авторизации amoCRM недействителен: {reason}.",
        "en": "The amoCRM authorization token is invalid: {reason}.",
    },
    "auth.unknown_account": {
        "ru": "Этот аккаунт amoCRM не подключён к amo-bridge.",
        "en": "This amoCRM account is not connected to amo-bridge.",
    },
    "auth.forbidden": {
        "ru": "Недостаточно прав: нужна роль «{roles}».",
        "en": "Not allowed: this needs the role “{roles}”.",
    },
    "role.manager": {"ru": "менеджер", "en": "manager"},
    "role.admin": {"ru": "администратор", "en": "admin"},
    "role.finance": {"ru": "финансист", "en": "finance"},
}


def pick_lang(accept_language: str | None, explicit: str | None = None) -> str:
    """``explicit`` (e.g. the widget's ``lang``) wins, then the first supported Accept-Language."""
    if explicit and explicit[:2].lower() in LANGS:
        return explicit[:2].lower()
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGS:
            return code
    return DEFAULT_LANG


def t(key: str, lang: str = DEFAULT_LANG, **values: object) -> str:
    entry = MESSAGES[key]
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**values) if values else text


# --- SMS (issue 7): template editor, outbox reasons, amoCRM notes, verification -------------
MESSAGES.update({
    "template.empty": {"ru": "Шаблон пуст.", "en": "The template is empty."},
    "template.too_long": {"ru": "Шаблон длиннее {detail} символов.",
                          "en": "The template is longer than {detail} characters."},
    "template.syntax": {"ru": "Ошибка в шаблоне (строка {line}): {detail}",
                        "en": "Template error (line {line}): {detail}"},
    "template.unknown_variable": {
        "ru": "Неизвестная переменная «{name}» в строке {line}. Доступны: {known}.",
        "en": "Unknown variable “{name}” on line {line}. Available: {known}."},
    "template.unknown_filter": {"ru": "Фильтр «{name}» в строке {line} не разрешён.",
                                "en": "Filter “{name}” on line {line} is not allowed."},
    "template.forbidden": {
        "ru": "Строка {line}: «{name}» недоступно в шаблоне SMS — шаблону видны только "
              "переменные из списка.",
        "en": "Line {line}: “{name}” is not available in an SMS template — templates see only "
              "the listed variables."},
    "sms.reason.no_contact": {"ru": "У сделки нет контакта.", "en": "The deal has no contact."},
    "sms.reason.no_phone": {"ru": "У клиента нет номера телефона.",
                            "en": "The client has no phone number."},
    "sms.reason.invalid_phone": {"ru": "Номер «{phone}» недействителен: {detail}.",
                                 "en": "Number “{phone}” is invalid: {detail}."},
    "sms.reason.not_mobile": {"ru": "Номер {phone} не мобильный.",
                              "en": "Number {phone} is not a mobile number."},
    "sms.reason.region": {"ru": "Номер {phone} из региона {region}: отправка туда не разрешена.",
                          "en": "Number {phone} is in region {region}, which is not allowed."},
    "sms.reason.suppressed": {"ru": "Номер {phone} в стоп-листе: {detail}",
                              "en": "Number {phone} is suppressed: {detail}"},
    "sms.reason.opted_out": {"ru": "Клиент отказался от SMS.",
                             "en": "The client opted out of SMS."},
    "sms.reason.no_consent": {"ru": "Нет согласия клиента на рекламные SMS.",
                              "en": "The client has not consented to marketing SMS."},
    "sms.reason.missing_manager": {
        "ru": "В профиле менеджера «{manager}» не заполнено: {fields}. Заполните профиль — "
              "сообщение уйдёт само.",
        "en": "The profile of manager “{manager}” lacks: {fields}. Fill it in and the message "
              "goes out by itself."},
    "sms.reason.no_manager": {"ru": "Не определён менеджер, чьи контакты нужны в тексте.",
                              "en": "No manager whose contacts the text needs."},
    "sms.reason.missing_data": {"ru": "Для текста не хватает данных: {fields}.",
                                "en": "The text lacks data: {fields}."},
    "sms.reason.template_missing": {"ru": "Шаблон «{code}» не найден или выключен.",
                                    "en": "Template “{code}” is missing or switched off."},
    "sms.reason.expired": {"ru": "Устарело, не дождавшись отправки.",
                           "en": "Expired before it could be sent."},
    "sms.reason.channel_paused": {"ru": "Канал {gateway} приостановлен: {detail}",
                                  "en": "Channel {gateway} is paused: {detail}"},
    "sms.reason.retry": {"ru": "Провайдер временно недоступен ({detail}), повтор позже.",
                         "en": "The provider is temporarily unavailable ({detail}); retrying."},
    "sms.reason.gave_up": {"ru": "Провайдер недоступен после {attempts} попыток.",
                           "en": "The provider was unavailable for {attempts} attempts."},
    "sms.reason.provider_number": {"ru": "Номер не может получать SMS: {detail}",
                                   "en": "The number cannot receive SMS: {detail}"},
    "sms.reason.provider_message": {"ru": "Провайдер отклонил сообщение: {detail}",
                                    "en": "The provider refused the message: {detail}"},
    "sms.reason.unknown": {"ru": "Ответ провайдера потерян; статус уточняется запросом.",
                           "en": "The provider's answer was lost; asking for the status."},
    "sms.reason.lost_not_found": {
        "ru": "Ответ провайдера потерян, и у провайдера сообщения нет. Проверьте и при "
              "необходимости отправьте вручную.",
        "en": "The provider's answer was lost and the provider has no such message. Check, "
              "then send it again by hand if needed."},
    "sms.reason.lost_no_lookup": {
        "ru": "Ответ провайдера потерян, а {gateway} не умеет искать сообщение без его номера. "
              "Проверьте в кабинете провайдера.",
        "en": "The provider's answer was lost and {gateway} cannot find a message without its "
              "id. Check in the provider's cabinet."},
    "sms.reason.delivery_failed": {"ru": "Не доставлено: {detail}",
                                   "en": "Not delivered: {detail}"},
    "sms.note.sent": {"ru": "SMS клиенту на {phone} отправлено ({segments} SMS{cost}):\n«{text}»",
                      "en": "SMS sent to {phone} ({segments} SMS{cost}):\n“{text}”"},
    "sms.note.sent_code": {"ru": "Клиенту на {phone} отправлен код подтверждения телефона.",
                           "en": "A phone confirmation code was sent to {phone}."},
    "sms.note.delivered": {"ru": "SMS на {phone} доставлено.",
                           "en": "SMS to {phone} delivered."},
    "sms.note.failed": {"ru": "SMS на {phone} не доставлено. {reason}",
                        "en": "SMS to {phone} not delivered. {reason}"},
    "sms.note.blocked": {"ru": "SMS не отправлено. {reason}\n«{text}»",
                         "en": "SMS not sent. {reason}\n“{text}”"},
    "sms.note.verified": {"ru": "Телефон {phone} подтверждён кодом из SMS.",
                          "en": "Phone {phone} confirmed by an SMS code."},
    "sms.verify.cooldown": {"ru": "Новый код можно запросить через {seconds} с.",
                            "en": "A new code can be requested in {seconds} s."},
    "sms.verify.too_many": {"ru": "Слишком много кодов на этот номер за час. Попробуйте позже.",
                            "en": "Too many codes for this number this hour. Try later."},
    "sms.verify.wrong": {"ru": "Неверный код. Осталось попыток: {left}.",
                         "en": "Wrong code. Attempts left: {left}."},
    "sms.verify.expired": {"ru": "Код истёк. Запросите новый.",
                           "en": "The code has expired. Request a new one."},
    "sms.verify.locked": {"ru": "Слишком много неверных попыток. Запросите новый код.",
                          "en": "Too many wrong attempts. Request a new code."},
    "sms.verify.done": {"ru": "Код уже использован.", "en": "The code was already used."},
    "sms.api.not_found": {"ru": "Не найдено: {what}.", "en": "Not found: {what}."},
    "sms.api.segments_warning": {
        "ru": "Текст займёт {count} SMS — больше {limit}: каждое сообщение обойдётся дороже.",
        "en": "The text takes {count} SMS — more than {limit}: each message costs more."},
})

# --- money, reports and exports (issue 8) ---------------------------------------------------
MESSAGES.update({
    "export.forbidden": {
        "ru": "Выгрузка запрещена: менеджеры не могут выгружать клиентскую базу. "
              "Выгрузку делает администратор или финансист. Попытка записана в журнал.",
        "en": "Export refused: managers may not export the client base. "
              "An admin or a finance person can make the export. The attempt was logged.",
    },
    "export.not_found": {"ru": "Выгрузка не найдена.", "en": "Export not found."},
    "export.not_ready": {"ru": "Выгрузка ещё не готова (статус: {status}).",
                         "en": "The export is not ready yet (status: {status})."},
    "export.link_expired": {"ru": "Ссылка на файл устарела — запросите новую.",
                            "en": "The download link has expired — ask for a new one."},
    "export.link_invalid": {"ru": "Ссылка на файл недействительна.",
                            "en": "The download link is not valid."},
    "export.gone": {"ru": "Файл выгрузки уже удалён — сделайте выгрузку заново.",
                    "en": "The export file was deleted — make the export again."},
    "reports.own_only": {"ru": "Менеджер видит только свои показатели.",
                         "en": "A manager sees only their own figures."},
    "reports.bad_period": {"ru": "Неверный период: {reason}.", "en": "Invalid period: {reason}."},
    "reports.not_found": {"ru": "Не найдено: {what}.", "en": "Not found: {what}."},
    "money.invalid": {"ru": "Операция невозможна: {reason}.",
                      "en": "The operation is not possible: {reason}."},
})
MESSAGES.update({
    "sms.reason.reminder_done": {
        "ru": "Полис уже продлён (или продление закрыто) — напоминание не нужно.",
        "en": "The policy is already renewed (or the renewal is closed): no reminder needed."},
    "sms.reason.reminder_in_progress": {
        "ru": "Продление уже в работе — последнее напоминание не нужно.",
        "en": "The renewal is in progress: the last reminder is not needed."},
    "sms.verify.invalid_phone": {"ru": "Номер для подтверждения не подходит: {detail}",
                                 "en": "The number cannot be confirmed: {detail}"},
})
MESSAGES.update({"sms.verify.ok": {"ru": "Телефон подтверждён.", "en": "Phone confirmed."}})
# --- issue 6: imports of the broker's base (amo_bridge/imports) ------------------------------
MESSAGES.update({
    "import.where.row": {"ru": "строка {row}", "en": "row {row}"},
    "import.where.column": {"ru": "столбец {column} «{header}»",
                            "en": "column {column} “{header}”"},
    "import.value.formula": {
        "ru": "«{value}» похоже на формулу Excel, а не на значение — впишите само значение",
        "en": "“{value}” looks like an Excel formula, not a value — type the value itself"},
    "import.value.exponent": {
        "ru": "«{value}»: Excel показал число в виде степени, цифры потеряны — задайте столбцу "
              "текстовый формат и впишите номер заново",
        "en": "“{value}”: Excel printed the number in exponent form and lost digits — format the "
              "column as text and type the number again"},
    "import.value.date": {
        "ru": "«{value}» — не дата; ожидается ДД.ММ.ГГГГ, ДД.ММ.ГГ или ГГГГ-ММ-ДД",
        "en": "“{value}” is not a date; expected DD.MM.YYYY, DD.MM.YY or YYYY-MM-DD"},
    "import.value.no_such_month": {
        "ru": "даты «{value}» не существует: месяца {month} не бывает (ожидается ДД.ММ.ГГГГ)",
        "en": "“{value}” is not a real date: there is no month {month} (expected DD.MM.YYYY)"},
    "import.value.no_such_date": {
        "ru": "даты «{value}» не существует: последнее число этого месяца — {days}",
        "en": "“{value}” is not a real date: that month ends on day {days}"},
    "import.value.date_year": {
        "ru": "дата «{value}»: {year} год похож на опечатку",
        "en": "date “{value}”: the year {year} looks like a typo"},
    "import.value.number": {"ru": "«{value}» — не число", "en": "“{value}” is not a number"},
    "import.value.ambiguous_amount": {
        "ru": "сумма «{value}» неоднозначна (тысячи или копейки?) — напишите 12500 или 12,50",
        "en": "the amount “{value}” is ambiguous (thousands or decimals?) — write 12500 or 12.50"},
    "import.value.percent": {
        "ru": "«{value}» — не процент от 0 до 100",
        "en": "“{value}” is not a percentage from 0 to 100"},
    "import.value.year": {
        "ru": "«{value}» — не год выпуска; значение пропущено",
        "en": "“{value}” is not a year of manufacture; left out"},
    "import.value.phone": {
        "ru": "«{value}» — не номер телефона (нужен полный номер с кодом)",
        "en": "“{value}” is not a phone number (a full number with its code is needed)"},
    "import.value.email": {
        "ru": "«{value}» — не адрес e-mail; значение пропущено",
        "en": "“{value}” is not an e-mail address; left out"},
    "import.value.kind": {
        "ru": "«{value}»: ожидается «наш» или «чужой»",
        "en": "“{value}”: expected “ours” or “foreign”"},
    "import.value.amocrm_id": {
        "ru": "«{value}» — не id amoCRM (только цифры)",
        "en": "“{value}” is not an amoCRM id (digits only)"},
    "import.value.product": {
        "ru": "неизвестный продукт «{value}»; известные: {known} (или добавьте синоним в "
              "справочник продуктов)",
        "en": "unknown product “{value}”; known: {known} (or add an alias to the product "
              "dictionary)"},
    "import.value.user": {
        "ru": "«{value}» не найден среди пользователей amoCRM (или таких несколько); полис "
              "импортирован без сотрудника",
        "en": "“{value}” is not one amoCRM user (none or several match); the policy is imported "
              "without that person"},
    "import.value.deal_unknown": {
        "ru": "сделки {value} нет в amo-bridge; полис импортирован без связи со сделкой",
        "en": "deal {value} is not known to amo-bridge; the policy is imported without the link"},
    "import.row.required": {"ru": "не заполнено: {column_fields}",
                            "en": "empty: {column_fields}"},
    "import.row.no_client": {
        "ru": "нет клиента: заполните ФИО или телефон",
        "en": "no client: fill in a name or a phone"},
    "import.row.ends_before_start": {
        "ru": "полис заканчивается ({ends}) раньше, чем начинается ({starts})",
        "en": "the policy ends ({ends}) before it starts ({starts})"},
    "import.row.no_premium": {
        "ru": "для нашего полиса нужна премия", "en": "our policy needs a premium"},
    "import.row.negative": {"ru": "сумма не может быть отрицательной",
                            "en": "the amount cannot be negative"},
    "import.row.cancelled_before_sale": {
        "ru": "дата расторжения раньше даты продажи", "en": "cancelled before it was sold"},
    "import.row.refund_above_premium": {
        "ru": "возврат больше премии", "en": "the refund is larger than the premium"},
    "import.row.duplicate": {
        "ru": "тот же полис (страховая компания и номер), что в строке {row}; исправьте номер или "
              "удалите повтор",
        "en": "the same policy (insurer and number) as row {row}; fix the number or delete the "
              "repeat"},
    "import.row.from_deal": {
        "ru": "этот полис уже есть в amo-bridge из сделки amoCRM — меняйте его в amoCRM; "
              "строка не применена",
        "en": "this policy is already in amo-bridge from an amoCRM deal — change it in amoCRM; "
              "the row was not applied"},
    "import.column.duplicate": {
        "ru": "столбец дублирует {first} «{first_header}» и пропущен",
        "en": "the column repeats {first} “{first_header}” and is skipped"},
    "import.file.unreadable": {"ru": "Файл не читается: {reason}.",
                               "en": "The file cannot be read: {reason}."},
    "import.file.empty": {"ru": "Файл пустой.", "en": "The file is empty."},
    "import.file.xls": {
        "ru": "Это файл старого формата Excel (.xls). Сохраните его как .xlsx или CSV и загрузите "
              "снова.",
        "en": "This is an old Excel file (.xls). Save it as .xlsx or CSV and upload it again."},
    "import.file.sheet_in_csv": {"ru": "В CSV нет листов (указан лист «{sheet}»).",
                                 "en": "A CSV file has no sheets (sheet “{sheet}” was given)."},
    "import.file.no_sheet": {"ru": "Листа «{sheet}» нет в файле; есть: {sheets}.",
                             "en": "There is no sheet “{sheet}”; the sheets are: {sheets}."},
    "import.file.not_a_sheet": {"ru": "«{sheet}» — не таблица (диаграмма?).",
                                "en": "“{sheet}” is not a table (a chart?)."},
    "import.file.encoding": {
        "ru": "Не удалось определить кодировку: сохраните CSV в UTF-8 или Windows-1251.",
        "en": "The encoding is not recognised: save the CSV as UTF-8 or Windows-1251."},
    "import.file.no_header": {
        "ru": "В первых 30 строках не найдена строка заголовка (ожидаются столбцы вроде «ФИО», "
              "«Телефон», «Вид страхования», «Дата окончания»). Переименуйте столбцы или "
              "укажите их через --map 'Заголовок=поле'.",
        "en": "No header row in the first 30 rows (columns such as “Full name”, “Phone”, "
              "“Product”, “End date” are expected). Rename the columns or name them with "
              "--map 'Header=field'."},
    "import.file.missing_columns": {
        "ru": "Не найдены обязательные столбцы: {missing_fields}. Найдены: {found}. Переименуйте "
              "столбец или укажите его через --map 'Заголовок=поле'.",
        "en": "Required columns are missing: {missing_fields}. Found: {found}. Rename the column "
              "or name it with --map 'Header=field'."},
    "import.file.no_premium": {
        "ru": "Для наших полисов нужен столбец «Премия». Если в файле чужие полисы, "
              "импортируйте с видом «чужие» (--kind foreign).",
        "en": "Our policies need a “Premium” column. If the file lists foreign policies, import "
              "it as foreign (--kind foreign)."},
    "import.file.no_account": {"ru": "Аккаунт не найден.", "en": "The account is not found."},
    "import.map.syntax": {"ru": "--map «{spec}»: нужно 'Заголовок=поле'.",
                          "en": "--map “{spec}”: expected 'Header=field'."},
    "import.map.unknown_field": {"ru": "--map: неизвестное поле «{field}»; поля: {fields}.",
                                 "en": "--map: unknown field “{field}”; the fields are: {fields}."},
    "import.map.no_header": {
        "ru": "--map: в заголовке файла нет столбца «{header}»; есть: {headers}.",
        "en": "--map: the file's header has no column “{header}”; it has: {headers}."},
    "import.report.title": {"ru": "Импорт полисов: {filename}", "en": "Policy import: {filename}"},
    "import.report.title_dry": {"ru": "Пробный импорт полисов (ничего не записано): {filename}",
                                "en": "Policy import, dry run (nothing written): {filename}"},
    "import.report.format_xlsx": {"ru": "XLSX, лист «{sheet}»", "en": "XLSX, sheet “{sheet}”"},
    "import.report.format_csv": {"ru": "CSV, кодировка {encoding}, разделитель {delimiter}",
                                 "en": "CSV, encoding {encoding}, delimiter {delimiter}"},
    "import.report.format": {"ru": "Формат: {format}; строка заголовка: {row}",
                             "en": "Format: {format}; header row: {row}"},
    "import.report.kind": {"ru": "Полисы по умолчанию: {kind}",
                           "en": "Policies by default: {kind}"},
    "import.kind.ours": {"ru": "наши", "en": "ours"},
    "import.kind.foreign": {"ru": "чужие", "en": "foreign"},
    "import.report.columns": {"ru": "Столбцы:", "en": "Columns:"},
    "import.report.column": {"ru": "{column} «{header}» → {field}",
                             "en": "{column} “{header}” → {field}"},
    "import.report.column_map": {"ru": "{column} «{header}» → {field} (--map)",
                                 "en": "{column} “{header}” → {field} (--map)"},
    "import.report.column_ignored": {"ru": "{column} «{header}» — пропущен",
                                     "en": "{column} “{header}” — ignored"},
    "import.report.column_duplicate": {"ru": "{column} «{header}» — повтор, пропущен",
                                       "en": "{column} “{header}” — repeated, ignored"},
    "import.report.column_unknown": {
        "ru": "{column} «{header}» — не распознан, пропущен (--map '{header}=поле')",
        "en": "{column} “{header}” — not recognised, ignored (--map '{header}=field')"},
    "import.report.summary": {
        "ru": "Итог: прочитано {read}, импортировано {imported}, обновлено {updated}, "
              "без изменений {unchanged}, отклонено {rejected}",
        "en": "Summary: read {read}, imported {imported}, updated {updated}, unchanged "
              "{unchanged}, rejected {rejected}"},
    "import.report.summary_dry": {
        "ru": "Итог (проба): прочитано {read}, будет импортировано {imported}, обновлено "
              "{updated}, без изменений {unchanged}, отклонено {rejected}",
        "en": "Summary (dry run): read {read}, would import {imported}, update {updated}, "
              "unchanged {unchanged}, rejected {rejected}"},
    "import.report.empty": {"ru": "Пустых строк пропущено: {count}",
                            "en": "Empty rows skipped: {count}"},
    "import.report.contacts": {
        "ru": "Клиенты: найдено в базе {matched}, новых {created} (будут созданы в amoCRM в фоне)",
        "en": "Clients: found {matched}, new {created} (to be created in amoCRM in the "
              "background)"},
    "import.report.contacts_dry": {
        "ru": "Клиенты (проба): найдено в базе {matched}, будет новых {created}",
        "en": "Clients (dry run): found {matched}, would create {created}"},
    "import.report.rejected": {"ru": "Отклонено:", "en": "Rejected:"},
    "import.report.warnings": {"ru": "Предупреждения:", "en": "Warnings:"},
    "import.csv.reason": {"ru": "Ошибка", "en": "Error"},
    "import.csv.row": {"ru": "Строка", "en": "Row"},
})
MESSAGES.update({
    "import.value.operation": {
        "ru": "«{value}»: ожидается «Продажа», «Исправление», «Расторжение» или «Сторно»",
        "en": "“{value}”: expected “Sale”, “Correction”, “Cancellation” or “Reversal”"},
    "import.row.no_such_policy": {
        "ru": "расторжение полиса, которого нет ни в файле, ни в amo-bridge",
        "en": "a cancellation of a policy that is neither in the file nor in amo-bridge"},
    "import.report.skipped": {
        "ru": "Пропущено строк итогов, подзаголовков и служебных строк реестра: {count}",
        "en": "Totals, section-title and ledger service rows skipped: {count}"},
    "import.status.queued": {"ru": "в очереди", "en": "queued"},
    "import.status.running": {"ru": "идёт импорт", "en": "importing"},
    "import.status.done": {"ru": "готово", "en": "done"},
    "import.status.failed": {"ru": "не удалось", "en": "failed"},
})
MESSAGES.update({
    "import.api.busy": {"ru": "Уже идёт импорт №{id} — дождитесь его окончания.",
                        "en": "Import #{id} is already running — wait until it finishes."},
    "import.api.not_found": {"ru": "Импорт не найден.", "en": "Import not found."},
    "import.api.no_rejected": {"ru": "В этом импорте нет отклонённых строк.",
                               "en": "This import has no rejected rows."},
})
MESSAGES.update({
    "import.cli.rejected_file": {"ru": "Отклонённые строки: {path}", "en": "Rejected rows: {path}"},
    "import.cli.contacts_queued": {
        "ru": "Новые клиенты поставлены в очередь на создание в amoCRM.",
        "en": "The new clients are queued for creation in amoCRM."},
    "import.cli.contacts_later": {
        "ru": "Новых клиентов создаст в amoCRM работающий amo-bridge (amo-bridge serve) в "
              "течение нескольких минут.",
        "en": "The running bridge (amo-bridge serve) creates the new clients in amoCRM within "
              "minutes."},
})

# --- Renewals (issue 5): settings, assignee rules, foreign policies -------------------------
MESSAGES.update({
    "renewals.not_found": {"ru": "Не найдено: {what}.", "en": "Not found: {what}."},
    "renewals.product.unknown": {"ru": "Неизвестный вид страхования «{product}».",
                                 "en": "Unknown product “{product}”."},
    "renewals.user.unknown": {
        "ru": "Пользователь amoCRM {user} не известен amo-bridge (обновите список пользователей).",
        "en": "amoCRM user {user} is not known to amo-bridge (refresh the user list)."},
    "renewals.user.self_backup": {"ru": "Сотрудник не может замещать сам себя.",
                                  "en": "A user cannot be their own backup."},
    "renewals.rule.fixed_user": {"ru": "Для правила «конкретный сотрудник» укажите сотрудника.",
                                 "en": "A fixed rule needs a user."},
    "renewals.rule.pool": {"ru": "Для очереди и «наименее загруженного» укажите сотрудников.",
                           "en": "Round-robin and least-loaded rules need a pool of users."},
    "renewals.policy.dates": {"ru": "Дата окончания полиса раньше даты начала.",
                              "en": "The policy ends before it starts."},
    "renewals.policy.duplicate": {
        "ru": "Полис № {number} этой компании уже внесён.",
        "en": "Policy No. {number} of this insurer is already entered."},
    "renewals.policy.not_foreign": {
        "ru": "Это полис, оформленный нами: он меняется в сделке, а не в разделе чужих полисов.",
        "en": "This is one of our policies: it is edited in its deal, not among foreign ones."},
    "renewals.policy.has_renewal": {
        "ru": "По полису уже создана сделка пролонгации в amoCRM: закройте её там.",
        "en": "A renewal deal already exists in amoCRM for this policy: close it there."},
    "renewals.own_only": {
        "ru": "Менеджер может менять только внесённые им чужие полисы.",
        "en": "A manager may change only the foreign policies they entered."},
    "renewals.template.empty": {"ru": "Шаблон пуст.", "en": "The template is empty."},
    "renewals.template.too_long": {"ru": "Шаблон длиннее {limit} символов.",
                                   "en": "The template is longer than {limit} characters."},
    "renewals.template.syntax": {"ru": "Ошибка в шаблоне (строка {line}): {detail}",
                                 "en": "Template error (line {line}): {detail}"},
    "renewals.template.forbidden": {"ru": "Строка {line}: «{name}» в шаблоне недоступно.",
                                    "en": "Line {line}: “{name}” is not allowed in a template."},
    "renewals.template.unknown": {
        "ru": "Неизвестная переменная «{name}» в строке {line}. Доступны: {known}.",
        "en": "Unknown variable “{name}” on line {line}. Available: {known}."},
    "renewals.kind.ours": {"ru": "наш", "en": "ours"},
    "renewals.kind.foreign": {"ru": "чужой", "en": "foreign"},
})

# --- The widget (issue 9): the deal card's policy panel, settings, inbox --------------------
MESSAGES.update({
    "policy_lines.product": {"ru": "Неизвестный продукт «{product}».",
                             "en": "Unknown product “{product}”."},
    "policy_lines.premium": {"ru": "Премия не может быть отрицательной.",
                             "en": "The premium cannot be negative."},
    "policy_lines.dates": {"ru": "Дата окончания полиса раньше даты начала.",
                           "en": "The policy ends before it starts."},
    "policy_lines.object": {"ru": "Неизвестные поля объекта страхования: {keys}.",
                            "en": "Unknown insured object fields: {keys}."},
    "policy_lines.user": {"ru": "Сотрудник {user} не найден среди пользователей amoCRM.",
                          "en": "User {user} is not one of the amoCRM users."},
    "policy_lines.not_found": {"ru": "Строка полиса {id} не найдена в этой сделке.",
                               "en": "Policy line {id} is not in this deal."},
    "policy_lines.last_mapped": {
        "ru": "Это последняя строка выигранной сделки, а в полях сделки указан продукт "
              "«{product}»: без строки он снова попадёт в учёт. Исправьте строку или очистите "
              "поля сделки в amoCRM.",
        "en": "This is the last line of a won deal whose fields name the product “{product}”: "
              "without a line it would be booked again. Correct the line, or clear the deal's "
              "fields in amoCRM."},
    "widget.not_found": {"ru": "Не найдено: {what}.", "en": "Not found: {what}."},
    "widget.amocrm_unavailable": {
        "ru": "amoCRM сейчас не отвечает ({reason}). Попробуйте через минуту.",
        "en": "amoCRM does not answer right now ({reason}). Try again in a minute."},
    "widget.inbox.not_rejected": {
        "ru": "Событие №{id} не отклонено — повторять нечего.",
        "en": "Event #{id} was not rejected: there is nothing to retry."},
    "widget.harness.disabled": {
        "ru": "Стенд виджета доступен только в режиме разработки.",
        "en": "The widget harness is available in development only."},
})
MESSAGES.update({  # issue 5: notes and task results the bridge writes into amoCRM
    "renewals.note.cancelled": {
        "ru": "Полис расторгнут {on}: задача по пролонгации закрыта.",
        "en": "The policy was cancelled on {on}: the renewal task is closed."},
    "renewals.note.moved": {
        "ru": "Дата окончания полиса изменилась: {before} → {after}.",
        "en": "The policy's end date changed: {before} → {after}."},
    "renewals.note.task_moved": {"ru": " Задача перенесена на {due}.",
                                 "en": " The task is moved to {due}."},
})
