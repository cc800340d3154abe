"""Strict marshmallow schemas of the renewals API (unknown fields refused: RAISE).

Money is integer kopecks, dates ISO ``YYYY-MM-DD``; users are amoCRM user ids.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from amo_bridge.models import ANY, AssigneeStrategy, PolicyKind
from amo_bridge.renewals.config import COPYABLE

KINDS = [PolicyKind.OURS.value, PolicyKind.FOREIGN.value]
TEXT = validate.Length(min=1, max=1000)


class Strict(Schema):
    class Meta:
        unknown = RAISE


class ScheduleFields(Strict):
    enabled = fields.Bool()
    days_before = fields.Int(validate=validate.Range(min=1, max=365))
    pipeline = fields.Str(validate=validate.Length(max=255))
    status = fields.Str(validate=validate.Length(max=255))
    deal_name = fields.Str(validate=TEXT)
    task_text = fields.Str(validate=TEXT)
    task_due_days_after_creation = fields.Int(validate=validate.Range(min=0, max=90))
    task_type_id = fields.Int(validate=validate.Range(min=1))
    copy_fields = fields.List(fields.Str(validate=validate.OneOf(COPYABLE)))
    tag = fields.Str(validate=validate.Length(max=255))


class ScheduleOverride(ScheduleFields):
    kind = fields.Str(load_default=ANY, validate=validate.OneOf([*KINDS, ANY]))
    product = fields.Str(load_default=ANY, validate=validate.Length(min=1, max=32))


class SettingsInput(ScheduleFields):
    """``PUT /settings``: the keys given replace the account's values; the rest stay."""

    late_days = fields.Int(validate=validate.Range(min=0, max=90))
    foreign_tag = fields.Str(validate=validate.Length(max=255))
    price_from_premium = fields.Bool()
    marker_field = fields.Str(validate=validate.Length(max=255))
    bind_client_to_seller = fields.Bool()
    followups = fields.Bool()
    cold_tag = fields.Str(validate=validate.Length(max=255))
    followup_task_text = fields.Str(validate=TEXT)
    lost_followup_months = fields.Dict(keys=fields.Str(validate=validate.Length(min=1, max=255)),
                                       values=fields.Int(validate=validate.Range(min=0, max=60)))
    schedules = fields.List(fields.Nested(ScheduleOverride))

    @validates_schema
    def _one_override_per_key(self, data: dict[str, Any], **kwargs: Any) -> None:
        keys = [(s["kind"], s["product"]) for s in data.get("schedules") or ()]
        if len(keys) != len(set(keys)):
            raise ValidationError("one schedule per kind and product", "schedules")


class RuleInput(Strict):
    kind = fields.Str(required=True, validate=validate.OneOf(KINDS))
    product = fields.Str(load_default=ANY, validate=validate.Length(min=1, max=32))
    strategy = fields.Str(required=True,
                          validate=validate.OneOf([s.value for s in AssigneeStrategy]))
    fixed_user = fields.Int(load_default=None, allow_none=True)
    pool = fields.List(fields.Int(), load_default=list, validate=validate.Length(max=100))
    fallback_user = fields.Int(load_default=None, allow_none=True)

    @validates_schema
    def _pool_unique(self, data: dict[str, Any], **kwargs: Any) -> None:
        if len(data["pool"]) != len(set(data["pool"])):
            raise ValidationError("a user appears twice in the pool", "pool")


class AvailabilityInput(Strict):
    away_until = fields.Date(load_default=None, allow_none=True)
    backup_user = fields.Int(load_default=None, allow_none=True)


class PreviewQuery(Strict):
    kind = fields.Str(load_default=None, validate=validate.OneOf(KINDS))
    product = fields.Str(load_default=None, validate=validate.Length(min=1, max=32))
    count = fields.Int(load_default=10, validate=validate.Range(min=1, max=200))
    horizon = fields.Int(load_default=365, validate=validate.Range(min=0, max=730))
    lang = fields.Str(load_default=None, validate=validate.OneOf(["ru", "en"]))


class ListQuery(Strict):
    status = fields.Str(load_default=None, validate=validate.Length(max=24))
    manager = fields.Int(load_default=None)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    before_id = fields.Int(load_default=None)
    lang = fields.Str(load_default=None, validate=validate.OneOf(["ru", "en"]))


class PoliciesQuery(Strict):
    kind = fields.Str(load_default="foreign", validate=validate.OneOf([*KINDS, "all"]))
    lang = fields.Str(load_default=None, validate=validate.OneOf(["ru", "en"]))


class Vehicle(Strict):
    make = fields.Str(validate=validate.Length(max=64))
    model = fields.Str(validate=validate.Length(max=64))
    year = fields.Int(validate=validate.Range(min=1900, max=2100))
    plate = fields.Str(validate=validate.Length(max=16))
    vin = fields.Str(validate=validate.Length(max=17))


class ForeignPolicyInput(Strict):
    """A foreign policy: what the manager learns from the client (seed 002, part 2)."""

    product = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    insurer = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=255))
    ends_on = fields.Date(required=True)
    starts_on = fields.Date(load_default=None, allow_none=True)
    premium = fields.Int(load_default=None, allow_none=True, validate=validate.Range(min=0))
    number = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=64))
    terms = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    insured_object = fields.Nested(Vehicle, load_default=None, allow_none=True)


class ForeignPolicyPatch(ForeignPolicyInput):
    product = fields.Str(validate=validate.Length(min=1, max=64))
    ends_on = fields.Date()

    class Meta:
        unknown = RAISE


def without_defaults(schema: Schema, data: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    """A PATCH changes only the fields the request names (not the load defaults)."""
    return {k: v for k, v in data.items() if (schema.fields[k].data_key or k) in raw}
