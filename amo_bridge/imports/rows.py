"""One spreadsheet row → a policy line and its client, or the reasons it cannot be imported.

Hard problems reject the row (unknown product, impossible date, bad phone, a formula where a
value belongs…); soft ones — an e-mail, a car's year, a manager nobody can identify — drop that
one value with a warning and keep the policy, because losing a policy over them would be worse.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from amo_bridge.imports import identities as ids
from amo_bridge.imports import values as v
from amo_bridge.imports.headers import Column, Layout
from amo_bridge.imports.keys import fallback_key, numbered_key
from amo_bridge.imports.people import UserDirectory
from amo_bridge.imports.problems import ERROR, WARNING, BadValue, Issue
from amo_bridge.products import ProductDictionary, UnknownProduct

#: Fields whose bad value is dropped with a warning instead of rejecting the row.
SOFT = frozenset({"email", "year", "manager", "issuer"})
MOTOR = ("make", "model", "vehicle", "year", "plate", "vin")
KEEPABLE = ("income", "seller_share", "issuer_share")
#: The importer's own key namespaces (keys.py). A ledger key such as ``deal:123`` belongs to the
#: mirror: a policy is never created under it, or the mirror's own line would collide with it.
OUR_KEYS = ("number:", "nonum:")
_COPIED = ("insurer", "premium", "commission_pct", "starts_on", "ends_on", "sum_insured",
           "deductible", "terms", *KEEPABLE)


@dataclass(slots=True)
class Client:
    name: str
    phones: tuple[str, ...] = ()
    email: str | None = None
    amocrm_id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    middle_name: str | None = None
    responsible: int | None = None


@dataclass(slots=True)
class PolicyRow:
    row: int
    key: str
    #: The ``Policy`` columns this row gives; an empty cell never erases a stored value.
    values: dict[str, Any]
    client: Client
    #: Money figures taken as found (an agreed historical income) instead of computed.
    keep: frozenset[str] = frozenset()
    deal_amocrm_id: int | None = None
    cancellation: tuple[date, int] | None = None
    issues: list[Issue] = field(default_factory=list)  # warnings that came with it
    #: The row named its policy by ledger key (a re-imported export), not insurer + number.
    key_given: bool = False
    #: Only a cancellation of a policy the file does not otherwise list (ledger export).
    cancel_only: bool = False
    cells: tuple[Any, ...] = ()  # kept for cancel-only rows, which may still be rejected


class RowParser:
    def __init__(
        self,
        layout: Layout,
        *,
        products: ProductDictionary,
        users: UserDirectory,
        default_kind: str,
        this_year: int,
        epoch: date = v.EXCEL_EPOCH,
        fraction_columns: frozenset[int] = frozenset(),
    ) -> None:
        self.columns = layout.by_field()
        self.products = products
        self.users = users
        self.default_kind = default_kind
        self._product_memo: dict[str, str] = {}
        readers: dict[str, Callable[[Any], Any]] = {
            "name": v.plain, "text": v.plain, "insurer": v.plain, "ident": v.ident,
            "phone": ids.parse_phones, "email": ids.parse_email, "product": self._product,
            "date": partial(v.parse_date, epoch=epoch), "money": v.parse_money,
            "year": partial(v.parse_year, this_year=this_year), "user": self._user,
            "kind": ids.parse_kind, "amocrm_id": ids.parse_amocrm_id,
            "operation": ids.parse_operation,
        }
        from amo_bridge.imports.fields import BY_NAME

        self._plan: list[tuple[str, Column, Callable[[Any], Any]]] = []
        for name, column in self.columns.items():
            kind = BY_NAME[name].kind
            if name == "income":
                reader = self._income
            elif kind == "percent":
                reader = partial(v.parse_percent, fraction=column.index in fraction_columns)
            else:
                reader = readers[kind]
            self._plan.append((name, column, _memoized(reader)))

    # --- readers that need the account's dictionaries ---------------------------------------

    def _product(self, raw: object) -> str:
        value = v.plain(raw)
        code = self._product_memo.get(value)
        if code is None:
            try:
                code = self.products.resolve(value).code
            except UnknownProduct:
                known = ", ".join(p.name_ru for p in self.products)
                raise BadValue("import.value.product", value=value, known=known) from None
            self._product_memo[value] = code
        return code

    def _user(self, raw: object) -> int:
        value = v.plain(raw)
        found = self.users.match(value)
        if found is None:
            raise BadValue("import.value.user", value=value)
        return found

    @staticmethod
    def _income(raw: object) -> int | Decimal | None:
        # «КВ» holds rubles, but «15%» typed there is the commission rate.
        if isinstance(raw, str) and "%" in raw:
            return v.parse_percent(raw)
        return v.parse_money(raw)

    # --- the row ------------------------------------------------------------------------------

    def _issue(self, key: str, name: str | None, row: int, severity: str = ERROR,
               **params: Any) -> Issue:
        column = self.columns.get(name) if name else None
        return Issue(key, params, row=row, column=column.letter if column else None,
                     header=column.header if column else None, severity=severity)

    def parse(self, row: int, cells: Sequence[Any]) -> tuple[PolicyRow | None, list[Issue]]:
        got: dict[str, Any] = {}
        issues: list[Issue] = []
        failed: set[str] = set()
        width = len(cells)
        for name, column, read in self._plan:
            raw = cells[column.index] if column.index < width else None
            if raw is None or raw == "":
                continue
            try:
                value = read(raw)
            except BadValue as exc:
                failed.add(name)
                issues.append(Issue(exc.key, exc.params, row=row, column=column.letter,
                                    header=column.header,
                                    severity=WARNING if name in SOFT else ERROR))
                continue
            if value is not None and value != "" and value != ():
                got[name] = value
        self._cross_check(row, got, failed, issues)
        if any(issue.severity == ERROR for issue in issues):
            return None, issues
        return self._build(row, got, issues), issues

    def _cross_check(self, row: int, got: dict[str, Any], failed: set[str],
                     issues: list[Issue]) -> None:
        for name in ("product", "ends_on"):
            if name not in got and name not in failed:
                issues.append(self._issue("import.row.required", name, row, column_fields=name))
        income = got.get("income")
        if isinstance(income, Decimal):
            del got["income"]
            got.setdefault("commission_pct", income)
        has_name = "client_name" in got or "last_name" in got or "first_name" in got
        if not has_name and "phone" not in got and "client_name" not in failed \
                and "phone" not in failed:
            where = "client_name" if "client_name" in self.columns else "phone"
            issues.append(self._issue("import.row.no_client", where, row))
        starts, ends = got.get("starts_on"), got.get("ends_on")
        if starts and ends and ends < starts:
            issues.append(self._issue("import.row.ends_before_start", "ends_on", row,
                                      starts=starts.strftime("%d.%m.%Y"),
                                      ends=ends.strftime("%d.%m.%Y")))
        kind = got.get("kind", self.default_kind)
        premium = got.get("premium")
        if kind == "ours" and premium is None and "premium" not in failed:
            issues.append(self._issue("import.row.no_premium", "premium", row))
        for name in ("premium", "income", "sum_insured", "deductible", "refund"):
            amount = got.get(name)
            if amount is not None and amount < 0:
                issues.append(self._issue("import.row.negative", name, row))
        if "cancelled_on" in got:
            sold = got.get("sold_on") or got.get("starts_on")
            if sold and got["cancelled_on"] < sold:
                issues.append(self._issue("import.row.cancelled_before_sale", "cancelled_on",
                                          row))
            if (got.get("refund") or 0) > (premium or 0):
                issues.append(self._issue("import.row.refund_above_premium", "refund", row))

    def _build(self, row: int, got: dict[str, Any], issues: list[Issue]) -> PolicyRow:
        kind = got.get("kind", self.default_kind)
        values: dict[str, Any] = {"kind": kind, "product_code": got["product"]}
        for name in _COPIED:
            if name in got:
                values[name] = got[name]
        number = got.get("number")
        series = got.get("series")
        if number and series and not _compact(number).startswith(_compact(series)):
            number = f"{series} {number}"
        if number:
            values["number"] = number
        sold = got.get("sold_on") or (got.get("starts_on") if kind == "ours" else None)
        if sold:
            values["sold_on"] = sold
        motor = {name: got[name] for name in MOTOR if name in got}
        if motor:
            values["insured_object"] = motor
        if "manager" in got:
            values["seller_amocrm_id"] = got["manager"]
        if "issuer" in got:
            values["issuer_amocrm_id"] = got["issuer"]
        client = _client(got)
        given = got.get("policy_key")
        if given and given.startswith(OUR_KEYS):
            key = given
        elif number:
            key = numbered_key(got.get("insurer"), number)
        else:
            key = fallback_key(product=got["product"], phone=client.phones[0]
                               if client.phones else None, name=client.name,
                               ends_on=got["ends_on"], vehicle=got.get("vin") or got.get("plate"))
        cancellation = None
        if "cancelled_on" in got:
            cancellation = (got["cancelled_on"], got.get("refund") or 0)
        return PolicyRow(row=row, key=key, values=values, client=client,
                         keep=frozenset(n for n in KEEPABLE if n in got),
                         deal_amocrm_id=got.get("deal_id"), cancellation=cancellation,
                         issues=issues, key_given=bool(given))

    def cell(self, name: str, cells: Sequence[Any]) -> Any:
        column = self.columns.get(name)
        if column is None or column.index >= len(cells):
            return None
        return cells[column.index]

    def quick_key(self, cells: Sequence[Any]) -> str | None:
        """The policy's key from the ledger key or insurer + number alone (None if neither)."""
        try:
            key = v.ident(self.cell("policy_key", cells))
            if key:
                return key
            number = v.ident(self.cell("number", cells))
            series = v.ident(self.cell("series", cells))
        except BadValue:
            return None
        if number and series and not _compact(number).startswith(_compact(series)):
            number = f"{series} {number}"
        return numbered_key(v.text(self.cell("insurer", cells)), number) if number else None


#: Distinct cells remembered per column; past it the memo starts afresh (a column of unique
#: values — names, numbers — must not grow it without end).
MEMO_SIZE = 4096
_MEMO_TYPES = (str, date, datetime)


def _memoized(read: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``read`` answering a repeated cell from memory. A base repeats its products, insurers,
    managers, dates and car makes in row after row, so each is read once. Only text and dates
    are remembered: numbers would mix ``1``, ``1.0`` and ``True`` (equal keys, different
    cells), and money is mostly unique anyway. A refusal is remembered too, and raised anew."""
    memo: dict[Any, tuple[bool, Any]] = {}

    def run(raw: Any) -> Any:
        if raw.__class__ not in _MEMO_TYPES:
            return read(raw)
        hit = memo.get(raw)
        if hit is None:
            try:
                hit = (True, read(raw))
            except BadValue as exc:
                hit = (False, (exc.key, exc.params))
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[raw] = hit
        if hit[0]:
            return hit[1]
        key, params = hit[1]
        raise BadValue(key, **params)

    return run


def _compact(value: str) -> str:
    return "".join(value.upper().split())


def _client(got: dict[str, Any]) -> Client:
    last, first, middle = got.get("last_name"), got.get("first_name"), got.get("middle_name")
    name = got.get("client_name") or " ".join(p for p in (last, first, middle) if p)
    if name and not (last or first):
        parts = name.split()
        if 2 <= len(parts) <= 3:  # «Фамилия Имя Отчество», the Russian order
            last, first = parts[0], parts[1]
            middle = parts[2] if len(parts) == 3 else None
    phones = got.get("phone", ())
    return Client(name=name or (phones[0] if phones else ""), phones=phones,
                  email=got.get("email"), amocrm_id=got.get("contact_id"),
                  first_name=first, last_name=last, middle_name=middle,
                  responsible=got.get("manager"))
