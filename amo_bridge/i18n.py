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
