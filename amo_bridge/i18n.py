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
