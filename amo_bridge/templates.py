"""The template sandbox: user-editable SMS texts rendered by Jinja2 over a whitelisted context.

Admins edit SMS templates in the widget, so a template is untrusted code. Three layers keep it
harmless:

1. **On save** the template is parsed and its syntax tree walked: only plain output, ``if``,
   comparisons, whitelisted variables and a few text filters are allowed. Attribute or item
   access (``client_io.__class__``), calls, loops, ``set``, ``include``/``import`` are refused
   with a message that names the offending piece and its line.
2. **At render** the environment is Jinja's ``ImmutableSandboxedEnvironment`` with
   ``StrictUndefined`` (an unknown name is an error, never an empty string).
3. **Values** are plain strings and numbers; a value the data does not have (no policy number,
   a manager without a phone) is a :class:`Missing` marker: falsy in ``{% if %}``, and when it
   is printed the render reports it as missing instead of sending a broken text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from amo_bridge.i18n import DEFAULT_LANG, t
from sms.segments import Segments, count_segments

#: What a template may use: name → (Russian, English) description for the editor.
VARIABLES: dict[str, tuple[str, str]] = {
    "client_io": ("Имя и отчество клиента («Анна Петровна»)", "Client's first name + patronymic"),
    "client_first_name": ("Имя клиента", "Client's first name"),
    "client_full_name": ("ФИО клиента", "Client's full name"),
    "product": ("Вид страхования («КАСКО»)", "Product (“KASKO”)"),
    "policy_number": ("Номер полиса", "Policy number"),
    "end_date": ("Дата окончания полиса (ДД.ММ.ГГГГ)", "Policy end date (DD.MM.YYYY)"),
    "days_left": ("Дней до окончания полиса", "Days until the policy ends"),
    "insurer": ("Страховая компания", "Insurer"),
    "manager_name": ("Имя менеджера для клиента", "Manager's name shown to the client"),
    "manager_phone": ("Телефон менеджера для клиента", "Manager's phone shown to the client"),
    "company_name": ("Название компании", "Company name"),
    "company_phone": ("Телефон компании", "Company phone"),
    "code": ("Код подтверждения (только для подтверждения телефона)", "Verification code"),
}

#: A realistic sample for previews (the seed's own example).
SAMPLE: dict[str, object] = {
    "client_io": "Анна Петровна",
    "client_first_name": "Анна",
    "client_full_name": "Смирнова Анна Петровна",
    "product": "КАСКО",
    "policy_number": "ХХХ 0123456789",
    "end_date": "15.03.2027",
    "days_left": 45,
    "insurer": "Ингосстрах",
    "manager_name": "Дмитрий",
    "manager_phone": "+7 999 123-45-67",
    "company_name": "Надёжный полис",
    "company_phone": "+7 495 123-45-67",
    "code": "482913",
}

SAFE_FILTERS = ("upper", "lower", "capitalize", "title", "trim", "default", "d", "truncate")
_SAFE_TESTS = ("defined", "undefined", "none", "number", "string")
_ALLOWED_NODES = (
    nodes.Template, nodes.Output, nodes.TemplateData, nodes.Name, nodes.Const, nodes.Filter,
    nodes.If, nodes.Not, nodes.And, nodes.Or, nodes.Compare, nodes.Operand, nodes.CondExpr,
    nodes.Concat, nodes.Test,
)
MAX_SOURCE_CHARS = 2000


class TemplateProblem(ValueError):
    """A template cannot be saved; ``message(lang)`` says why and where, for the editor."""

    def __init__(self, key: str, *, line: int | None = None, name: str = "",
                 detail: str = "") -> None:
        super().__init__(f"{key}: {name or detail} (line {line})")
        self.key, self.line, self.name, self.detail = key, line, name, detail

    def message(self, lang: str = DEFAULT_LANG) -> str:
        known = ", ".join(VARIABLES)
        return t(self.key, lang, line=self.line or 1, name=self.name, detail=self.detail,
                 known=known)


class MissingValues(LookupError):
    """The data lacks values the template prints (e.g. ``manager_phone``)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class Missing(Undefined):
    """A known variable without a value: falsy in ``if``; printing it is recorded."""

    __slots__ = ("_seen",)

    def __init__(self, name: str, seen: list[str]) -> None:
        super().__init__(name=name)
        self._seen = seen

    def __str__(self) -> str:
        self._seen.append(self._undefined_name or "?")
        return ""


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True
    )
    env.filters = {name: env.filters[name] for name in SAFE_FILTERS}
    env.tests = {name: env.tests[name] for name in _SAFE_TESTS}
    env.globals = {}
    return env


def validate(source: str) -> None:
    """Refuse anything but whitelisted variables and plain constructs; raise TemplateProblem."""
    if not source or not source.strip():
        raise TemplateProblem("template.empty")
    if len(source) > MAX_SOURCE_CHARS:
        raise TemplateProblem("template.too_long", detail=str(MAX_SOURCE_CHARS))
    env = environment()
    try:
        tree = env.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem("template.syntax", line=exc.lineno,
                              detail=exc.message or "") from None
    for node in tree.find_all(nodes.Node):
        _check_node(node)
    try:  # defence in depth: the sandbox must accept a render of the sample
        render(source, SAMPLE)
    except SecurityError as exc:
        raise TemplateProblem("template.forbidden", name=str(exc)) from None
    except TemplateError as exc:
        raise TemplateProblem("template.syntax", detail=str(exc)) from None


def _check_node(node: nodes.Node) -> None:
    line = getattr(node, "lineno", None)
    if isinstance(node, nodes.Getattr | nodes.Getitem):
        while isinstance(node.node, nodes.Getattr | nodes.Getitem):  # name the first step
            node = node.node
        raise TemplateProblem("template.forbidden", line=line, name=_describe(node))
    if not isinstance(node, _ALLOWED_NODES):
        raise TemplateProblem("template.forbidden", line=line, name=type(node).__name__)
    if isinstance(node, nodes.Name) and node.name not in VARIABLES:
        raise TemplateProblem("template.unknown_variable", line=line, name=node.name)
    if isinstance(node, nodes.Filter) and node.name not in SAFE_FILTERS:
        raise TemplateProblem("template.unknown_filter", line=line, name=node.name)
    if isinstance(node, nodes.Test) and node.name not in _SAFE_TESTS:
        raise TemplateProblem("template.unknown_filter", line=line, name=node.name)


def _describe(node: nodes.Getattr | nodes.Getitem) -> str:
    if isinstance(node, nodes.Getattr):
        return f".{node.attr}"
    arg = node.arg
    return f"[{arg.value!r}]" if isinstance(arg, nodes.Const) else "[…]"


@lru_cache(maxsize=256)
def _compiled(source: str):
    return environment().from_string(source)


_SPACES = re.compile(r"[ \t]+")


def render(source: str, values: Mapping[str, object | None]) -> str:
    """Render ``source``; ``None`` values are :class:`Missing`. Raises MissingValues."""
    seen: list[str] = []
    context = {
        name: Missing(name, seen) if values.get(name) in (None, "") else values[name]
        for name in VARIABLES
    }
    text = _compiled(source).render(context)
    if seen:
        raise MissingValues(sorted(set(seen)))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True, slots=True)
class Preview:
    text: str
    segments: Segments
    too_long: bool


def preview(source: str, *, max_segments: int, values: Mapping[str, object] | None = None
            ) -> Preview:
    """Validate, render on the sample and count segments (warn above ``max_segments``)."""
    validate(source)
    text = render(source, {**SAMPLE, **(values or {})})
    segments = count_segments(text)
    return Preview(text=text, segments=segments, too_long=segments.count > max_segments)
