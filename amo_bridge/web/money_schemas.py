"""Strict marshmallow schemas of the money API (unknown fields are refused: RAISE).

Money crosses the API as integer kopecks; percentages as decimal strings ("12.5" = 12.5 %);
months as ``YYYY-MM``; dates as ISO ``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from amo_bridge.models import ANY, ExportKind, SalaryBasis
from amo_bridge.reports.period import Period, PeriodError

LANGS = validate.OneOf(["ru", "en"])
PCT = {"places": 4, "as_string": True, "validate": validate.Range(min=0, max=100)}


class Strict(Schema):
    class Meta:
        unknown = RAISE


class Month(fields.Field):
    """``YYYY-MM`` ↔ the first day of that month."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        try:
            period = Period.parse(str(value))
        except PeriodError as exc:
            raise ValidationError(str(exc)) from None
        if not period.whole_months or len(list(period.months())) != 1:
            raise ValidationError("expected a month as YYYY-MM")
        return period.start

    def _serialize(self, value: date | None, attr: str | None, obj: Any, **kwargs: Any):
        return None if value is None else value.strftime("%Y-%m")


class PeriodQuery(Strict):
    """``period`` (2026-11, 2026, 2026-01..2026-03) or ``from``/``to`` (months or dates)."""

    period = fields.Str(load_default=None)
    from_ = fields.Str(data_key="from", load_default=None)
    to = fields.Str(load_default=None)
    manager = fields.Int(load_default=None)
    product = fields.Str(load_default=None, validate=validate.Length(min=1, max=32))
    insurer = fields.Str(load_default=None, validate=validate.Length(min=1, max=255))
    lang = fields.Str(load_default=None, validate=LANGS)

    @validates_schema
    def _period(self, data: dict[str, Any], **kwargs: Any) -> None:
        try:
            if data.get("period"):
                data["parsed_period"] = Period.parse(data["period"])
            elif data.get("from_") and data.get("to"):
                data["parsed_period"] = Period.parse(f"{data['from_']}..{data['to']}")
            else:
                raise ValidationError("give period (2026-11) or from and to", "period")
        except PeriodError as exc:
            raise ValidationError(str(exc), "period") from None


class PayrollQuery(PeriodQuery):
    details = fields.Bool(load_default=False)


class ExportRequest(PeriodQuery):
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in ExportKind]))


class AuditQuery(Strict):
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    before_id = fields.Int(load_default=None)
    lang = fields.Str(load_default=None, validate=LANGS)


class LangQuery(Strict):
    lang = fields.Str(load_default=None, validate=LANGS)


class PlanInput(Strict):
    manager = fields.Int(required=True)
    month = Month(required=True)
    product = fields.Str(load_default=ANY, validate=validate.Length(min=1, max=32))
    income_target = fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=0))
    premium_target = fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=0))

    @validates_schema
    def _some_target(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("income_target") is None and data.get("premium_target") is None:
            raise ValidationError("give income_target and/or premium_target (kopecks)")


class RateInput(Strict):
    insurer = fields.Str(required=True, validate=validate.Length(min=1, max=255))
    product = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    valid_from = fields.Date(required=True)
    rate_pct = fields.Decimal(required=True, **PCT)


class SalaryRuleInput(Strict):
    role = fields.Str(required=True, validate=validate.OneOf(["seller", "issuer"]))
    product = fields.Str(load_default=ANY, validate=validate.Length(min=1, max=32))
    user = fields.Str(load_default=ANY, validate=validate.Regexp(r"^(\*|\d{1,18})$"))
    basis = fields.Str(required=True, validate=validate.OneOf([b.value for b in SalaryBasis]))
    pct = fields.Decimal(load_default=None, allow_none=True, **PCT)
    fixed_amount = fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=0))
    valid_from = fields.Date(required=True)

    @validates_schema
    def _basis(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["basis"] == SalaryBasis.FIXED:
            if data.get("fixed_amount") is None:
                raise ValidationError("a fixed rule needs fixed_amount (kopecks)", "fixed_amount")
            if data.get("pct") is not None:
                raise ValidationError("a fixed rule takes no pct", "pct")
        else:
            if data.get("pct") is None:
                raise ValidationError("a percentage rule needs pct", "pct")
            if data.get("fixed_amount") is not None:
                raise ValidationError("a percentage rule takes no fixed_amount", "fixed_amount")


class RetentionTargetsInput(Strict):
    targets = fields.Dict(
        keys=fields.Str(validate=validate.Length(min=1, max=32)),
        values=fields.Decimal(**PCT),
        required=True,
    )


class RoleInput(Strict):
    finance = fields.Bool(required=True)


class CancellationInput(Strict):
    on = fields.Date(required=True)
    refund = fields.Int(required=True, validate=validate.Range(min=0))
    note = fields.Str(load_default=None, validate=validate.Length(max=500))


def pct_text(value: Decimal | None) -> str | None:
    """A percentage for JSON: exact, without trailing zeros ("12.5", "75")."""
    if value is None:
        return None
    text = format(Decimal(value).normalize(), "f")
    return text
