"""What can be wrong with an imported file, a row or a cell — as i18n keys with parameters.

Problems are kept as ``(key, params)`` and rendered only when shown, so the widget shows the
report in the reader's language while the CLI prints it in the broker's (Russian by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from amo_bridge.i18n import DEFAULT_LANG, t

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in the file. ``row`` is the row number as the spreadsheet shows it."""

    key: str
    params: Mapping[str, str | int] = field(default_factory=dict)
    row: int | None = None
    column: str | None = None  # the column letter, "A"
    header: str | None = None  # the column's header as written in the file
    severity: str = ERROR

    def message(self, lang: str = DEFAULT_LANG) -> str:
        return t(self.key, lang, **localise(self.params, lang))

    def where(self, lang: str = DEFAULT_LANG) -> str:
        """``строка 5, столбец D «Дата окончания»`` — empty for file-level problems."""
        parts = []
        if self.row is not None:
            parts.append(t("import.where.row", lang, row=self.row))
        if self.column is not None:
            parts.append(t("import.where.column", lang, column=self.column,
                           header=self.header or ""))
        return ", ".join(parts)

    def render(self, lang: str = DEFAULT_LANG) -> str:
        where = self.where(lang)
        return f"{where}: {self.message(lang)}" if where else self.message(lang)

    def to_json(self, lang: str = DEFAULT_LANG) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "header": self.header,
                "severity": self.severity, "code": self.key, "params": dict(self.params),
                "message": self.message(lang)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Issue:
        return cls(key=str(data["code"]), params=dict(data.get("params") or {}),  # type: ignore[arg-type]
                   row=data.get("row"), column=data.get("column"),  # type: ignore[arg-type]
                   header=data.get("header"), severity=str(data.get("severity", ERROR)))  # type: ignore[arg-type]


def localise(params: Mapping[str, str | int], lang: str) -> dict[str, str | int]:
    """Parameters named ``*_fields`` hold field names (``"product,client_name|phone"``) and are
    shown as labels in the reader's language: «Вид страхования», «ФИО» / «Телефон»."""
    from amo_bridge.imports.fields import label

    shown: dict[str, str | int] = {}
    for name, value in params.items():
        if name.endswith("_fields") and isinstance(value, str):
            value = ", ".join(" / ".join(f"«{label(one, lang)}»" for one in group.split("|"))
                              for group in value.split(",") if group)
        shown[name] = value
    return shown


class BadValue(ValueError):
    """A cell that cannot be read as what its column holds; carries the message key."""

    def __init__(self, key: str, **params: str | int) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unreadable, no header, required columns…)."""

    def __init__(self, key: str, **params: str | int) -> None:
        super().__init__(f"{key} {params}")
        self.key = key
        self.params = params

    def message(self, lang: str = DEFAULT_LANG) -> str:
        return t(self.key, lang, **localise(self.params, lang))
