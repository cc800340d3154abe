"""Deal names, task texts and follow-up texts of renewals: admin-edited templates, sandboxed.

They run in the same Jinja2 sandbox as SMS templates (:mod:`amo_bridge.templates`), over their own
whitelist of variables. A value the data lacks (no policy number) renders as an empty string —
a deal must still be created — so the defaults wrap optional parts in ``{% if %}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from functools import lru_cache

from jinja2 import TemplateSyntaxError, nodes

from amo_bridge.templates import SAFE_FILTERS, environment

#: Variables of the renewal deal name and task text: name → (Russian, English) description.
RENEWAL_VARIABLES: dict[str, tuple[str, str]] = {
    "product": ("Вид страхования («ОСАГО»)", "Product (“OSAGO”)"),
    "client_short": ("Клиент: фамилия и инициалы («Иванова А. П.»)", "Client, short name"),
    "client_name": ("ФИО клиента", "Client's full name"),
    "ends_on": ("Дата окончания полиса (ДД.ММ.ГГГГ)", "Policy end date (DD.MM.YYYY)"),
    "days_left": ("Дней до окончания", "Days until the policy ends"),
    "number": ("Номер полиса", "Policy number"),
    "insurer": ("Страховая компания", "Insurer"),
    "premium": ("Премия («12 300 ₽»)", "Premium"),
    "kind": ("Наш или чужой полис", "Ours or foreign"),
    "vehicle": ("Автомобиль: марка, модель, госномер", "Vehicle: make, model, plate"),
    "seller": ("Кто продал полис", "Who sold the policy"),
}
#: Variables of the lost-deal follow-up task.
FOLLOWUP_VARIABLES: dict[str, tuple[str, str]] = {
    "deal_name": ("Название проигранной сделки", "The lost deal's name"),
    "client_name": ("ФИО клиента", "Client's full name"),
    "lost_on": ("Дата проигрыша (ДД.ММ.ГГГГ)", "The day the deal was lost"),
    "reason": ("Причина отказа", "Loss reason"),
    "months": ("Через сколько месяцев", "After how many months"),
}
_ALLOWED = (nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const,
            nodes.Filter, nodes.If, nodes.Not, nodes.And, nodes.Or, nodes.Compare, nodes.Operand,
            nodes.CondExpr, nodes.Concat, nodes.Test)
MAX_CHARS = 1000
_SPACES = re.compile(r"[ \t\r\n]+")


class TextProblem(ValueError):
    """A template cannot be saved: ``key`` is an i18n message key, ``values`` its arguments."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(f"{key}: {values}")
        self.key, self.values = key, values


def check_template(source: str, variables: Mapping[str, object]) -> None:
    """Refuse anything but the listed variables, plain output, ``if`` and safe filters."""
    if not source or not source.strip():
        raise TextProblem("renewals.template.empty")
    if len(source) > MAX_CHARS:
        raise TextProblem("renewals.template.too_long", limit=MAX_CHARS)
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError as exc:
        raise TextProblem("renewals.template.syntax", line=exc.lineno,
                          detail=exc.message or "") from None
    for node in tree.find_all(nodes.Node):
        line = getattr(node, "lineno", 1)
        if not isinstance(node, _ALLOWED):
            raise TextProblem("renewals.template.forbidden", line=line, name=type(node).__name__)
        if isinstance(node, nodes.Name) and node.name not in variables:
            raise TextProblem("renewals.template.unknown", line=line, name=node.name,
                              known=", ".join(variables))
        if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
            raise TextProblem("renewals.template.forbidden", line=line, name=node.name)


def render(source: str, values: Mapping[str, object | None], variables: Mapping[str, object]
           ) -> str:
    """Render with every known variable defined (missing ones empty); spaces collapsed."""
    context = {name: ("" if values.get(name) is None else values[name]) for name in variables}
    text = _compiled(source).render(context)
    return _SPACES.sub(" ", text).strip()  # not str.split(): it eats the no-break spaces


@lru_cache(maxsize=256)
def _compiled(source: str):
    # Compiling costs ~10 ms: once per template, not once per renewal.
    return environment().from_string(source)


def day(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


def rub(kopecks: int | None) -> str:
    """12300000 → «123 000 ₽» (whole roubles: a deal name is no invoice)."""
    if not kopecks:
        return ""
    roubles = round(kopecks / 100)
    return f"{roubles:,}".replace(",", "\u00a0") + " ₽"


def short_name(name: str, *, last: str | None = None, first: str | None = None) -> str:
    """«Иванова Анна Петровна» → «Иванова А. П.»; a company or a single word stays as it is."""
    parts = name.split()
    if last and first:
        rest = [p for p in parts if p not in (last, first)]
        parts = [last, first, *rest[:1]]
    if len(parts) < 2 or len(parts) > 3 or any(not p[:1].isalpha() for p in parts):
        return name.strip()
    surname, *given = parts
    return f"{surname} " + " ".join(f"{p[0].upper()}." for p in given)
