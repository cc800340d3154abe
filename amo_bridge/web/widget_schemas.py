"""Strict marshmallow schemas of the widget's own API (the deal panel, settings, dashboards).

Same conventions as the money API (:mod:`money_schemas`): unknown fields are refused, money is
integer kopecks, percentages decimal strings ("12.5"), dates ISO ``YYYY-MM-DD``.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from amo_bridge.ledger.policy_lines import MOTOR_KEYS, LineInput
from amo_bridge.models import InboxStatus
from amo_bridge.web.money_schemas import LANGS, PCT, Strict

#: The ledger fields a won deal's custom fields can fill (``field_mapping.policy``).
LEDGER_FIELDS = ("product", "insurer", "number", "starts_on", "ends_on", "premium",
                 "commission_pct", "sum_insured", "deductible", *MOTOR_KEYS)
PARTICIPANT_RULES = ("responsible_at_win", "responsible_at_stage", "field")


class InsuredObject(Strict):
    make = fields.Str(validate=validate.Length(max=64))
    model = fields.Str(validate=validate.Length(max=64))
    year = fields.Str(validate=validate.Regexp(r"^(\d{4})?$"))
    plate = fields.Str(validate=validate.Length(max=16))
    vin = fields.Str(validate=validate.Length(max=17))


class PolicyLineSchema(Strict):
    """A policy line as the panel sends it."""

    product = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    premium = fields.Int(required=True, validate=validate.Range(min=0, max=10**13))
    insurer = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=255))
    number = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    commission_pct = fields.Decimal(load_default=None, allow_none=True, **PCT)
    starts_on = fields.Date(load_default=None, allow_none=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    seller = fields.Int(load_default=None, allow_none=True)
    issuer = fields.Int(load_default=None, allow_none=True)
    sum_insured = fields.Int(load_default=None, allow_none=True,
                             validate=validate.Range(min=0, max=10**15))
    deductible = fields.Int(load_default=None, allow_none=True,
                            validate=validate.Range(min=0, max=10**15))
    insured_object = fields.Nested(InsuredObject, load_default=dict)
    terms = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class PolicyPreviewSchema(PolicyLineSchema):
    """What the panel has typed so far: only the product is needed to compute anything."""

    premium = fields.Int(load_default=0, validate=validate.Range(min=0, max=10**13))


def line_input(data: dict[str, Any]) -> LineInput:
    return LineInput(
        product_code=data["product"], premium=data["premium"], insurer=data["insurer"],
        number=data["number"], commission_pct=data["commission_pct"],
        starts_on=data["starts_on"], ends_on=data["ends_on"],
        seller_amocrm_id=data["seller"], issuer_amocrm_id=data["issuer"],
        sum_insured=data["sum_insured"], deductible=data["deductible"],
        insured_object=data["insured_object"], terms=data["terms"],
    )


class ParticipantRule(Strict):
    rule = fields.Str(required=True, validate=validate.OneOf(PARTICIPANT_RULES))
    statuses = fields.List(fields.Str(validate=validate.Length(min=1, max=255)),
                           load_default=list, validate=validate.Length(max=20))
    status_ids = fields.List(fields.Int(), load_default=list, validate=validate.Length(max=20))
    field = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=255))

    @validates_schema
    def _complete(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["rule"] == "responsible_at_stage" and not (data["statuses"] or data["status_ids"]):
            raise ValidationError("name at least one stage", "statuses")
        if data["rule"] == "field" and not data.get("field"):
            raise ValidationError("name the user field", "field")


def _names() -> fields.List:
    return fields.List(fields.Str(validate=validate.Length(min=1, max=255)),
                       validate=validate.Length(max=10))


class FieldMappingSchema(Strict):
    """``field_mapping``: per ledger field the amoCRM fields tried in order; seller, issuer."""

    policy = fields.Dict(keys=fields.Str(validate=validate.OneOf(LEDGER_FIELDS)),
                         values=_names(), required=True)
    seller = fields.Nested(ParticipantRule, required=True)
    issuer = fields.Nested(ParticipantRule, required=True)


class CancellationSchema(Strict):
    """``cancellation``: the stages that cancel a deal's policies, and where date/refund are."""

    status_ids = fields.List(fields.Int(), required=True, validate=validate.Length(max=50))
    date_field = _names()
    refund_field = _names()
    refund_default = fields.Str(required=True, validate=validate.OneOf(["none", "full"]))


class InboxQuery(Strict):
    status = fields.Str(load_default=InboxStatus.REJECTED.value,
                        validate=validate.OneOf([s.value for s in InboxStatus]))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=200))
    before_id = fields.Int(load_default=None)
    lang = fields.Str(load_default=None, validate=LANGS)


class ContextQuery(Strict):
    lang = fields.Str(load_default=None, validate=LANGS)
