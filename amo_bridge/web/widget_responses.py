"""What the widget's own endpoints answer, as marshmallow schemas — for the OpenAPI description
only (tests validate real answers against it, so it stays true). Money is integer kopecks.
"""

from __future__ import annotations

from marshmallow import Schema, fields


class Person(Schema):
    id = fields.Int(allow_none=True)
    name = fields.Str()


class PolicyLine(Schema):
    id = fields.Int(required=True)
    source = fields.Str(required=True, metadata={"description": "widget, or deal (mapped)"})
    product = fields.Str(required=True)
    product_name = fields.Str(required=True)
    insurer = fields.Str(allow_none=True)
    number = fields.Str(allow_none=True)
    premium = fields.Int(required=True)
    commission_pct = fields.Str(allow_none=True)
    income = fields.Int(required=True)
    seller_share = fields.Int(metadata={"description": "admins, finance, or the seller/issuer"})
    issuer_share = fields.Int()
    starts_on = fields.Date(allow_none=True)
    ends_on = fields.Date(allow_none=True)
    sold_on = fields.Date(allow_none=True)
    sum_insured = fields.Int(allow_none=True)
    deductible = fields.Int(allow_none=True)
    insured_object = fields.Dict(keys=fields.Str(), values=fields.Str())
    terms = fields.Str(allow_none=True)
    cancelled_on = fields.Date(allow_none=True)
    refund = fields.Int(allow_none=True)
    booked = fields.Bool(required=True)
    seller = fields.Nested(Person, required=True)
    issuer = fields.Nested(Person, required=True)


class PanelDeal(Schema):
    id = fields.Int(required=True, metadata={"description": "the amoCRM lead id"})
    known = fields.Bool(required=True, metadata={"description": "mirrored from amoCRM yet"})
    name = fields.Str(required=True)
    price = fields.Int(allow_none=True, metadata={"description": "amoCRM budget, roubles"})
    won_on = fields.Date(allow_none=True)
    lost = fields.Bool(required=True)
    responsible = fields.Int(allow_none=True)
    seller = fields.Int(allow_none=True)
    issuer = fields.Int(allow_none=True)


class Totals(Schema):
    premium = fields.Int(required=True)
    income = fields.Int(required=True)
    seller_share = fields.Int()
    issuer_share = fields.Int()


class PolicyPanel(Schema):
    deal = fields.Nested(PanelDeal, required=True)
    money = fields.Str(required=True)
    managed = fields.Bool(required=True, metadata={"description": "the panel owns the lines"})
    lines = fields.List(fields.Nested(PolicyLine), required=True)
    totals = fields.Nested(Totals, required=True)
    price_target = fields.Int(allow_none=True, metadata={"description": "roubles"})
    price_in_sync = fields.Bool(required=True)
    mapped = fields.Dict(required=True, metadata={
        "description": "what the deal's custom fields map to, while the panel has no line"})
    created = fields.Int(metadata={"description": "the new line's id (POST)"})
    removed = fields.Str(metadata={"description": "deleted, or reversed (DELETE)"})


class LinePreview(Schema):
    premium = fields.Int(required=True)
    commission_pct = fields.Str(allow_none=True)
    commission_source = fields.Str(required=True,
                                   metadata={"description": "manual, rate or none"})
    income = fields.Int(required=True)
    seller_share = fields.Int()
    issuer_share = fields.Int()


class Profile(Schema):
    name = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True)


class ContextUser(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)
    roles = fields.List(fields.Str(), required=True)
    admin = fields.Bool(required=True)
    finance = fields.Bool(required=True)
    profile = fields.Nested(Profile, required=True)


class ContactSummaryPhone(Schema):
    phone = fields.Str(required=True)
    label = fields.Str(allow_none=True)


class ContactSummary(Schema):
    id = fields.Int(required=True)
    known = fields.Bool(required=True)
    name = fields.Str(required=True)
    phones = fields.List(fields.Nested(ContactSummaryPhone), required=True)
    verified_phone = fields.Str(allow_none=True)
    phone_verified_at = fields.DateTime(allow_none=True)
    opted_out = fields.Bool(required=True)
    marketing_consent = fields.Bool(required=True)


class ContextAccount(Schema):
    id = fields.Int(required=True)
    subdomain = fields.Str(required=True)
    name = fields.Str(required=True)
    timezone = fields.Str(required=True)


class Product(Schema):
    code = fields.Str(required=True)
    name = fields.Str(required=True)


class AccountUser(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)
    active = fields.Bool(required=True)
    admin = fields.Bool(required=True)
    finance = fields.Bool(required=True)


class ExportRight(Schema):
    allowed = fields.Bool(required=True)
    reason = fields.Str(allow_none=True)


class Context(Schema):
    user = fields.Nested(ContextUser, required=True)
    account = fields.Nested(ContextAccount, required=True)
    lang = fields.Str(required=True)
    today = fields.Date(required=True)
    products = fields.List(fields.Nested(Product), required=True)
    users = fields.List(fields.Nested(AccountUser), required=True)
    insurers = fields.List(fields.Str(), required=True)
    export = fields.Nested(ExportRight, required=True)


class SettingsSection(Schema):
    value = fields.Dict(required=True)
    version = fields.Int(required=True)
    updated_at = fields.DateTime(allow_none=True)
    updated_by = fields.Int(allow_none=True)
    ledger_fields = fields.List(fields.Str())


class AmoFieldEnum(Schema):
    id = fields.Int(required=True)
    value = fields.Str(required=True)


class AmoField(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)
    code = fields.Str(allow_none=True)
    type = fields.Str(required=True)
    enums = fields.List(fields.Nested(AmoFieldEnum), required=True)


class AmoStatus(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)


class AmoPipeline(Schema):
    id = fields.Int(required=True)
    name = fields.Str(required=True)
    statuses = fields.List(fields.Nested(AmoStatus), required=True)


class LeadFields(Schema):
    fields_ = fields.List(fields.Nested(AmoField), required=True, data_key="fields")
    pipelines = fields.List(fields.Nested(AmoPipeline), required=True)


class InboxItem(Schema):
    id = fields.Int(required=True)
    source = fields.Str(required=True)
    status = fields.Str(required=True)
    reason = fields.Str(allow_none=True)
    received_at = fields.DateTime(required=True)
    processed_at = fields.DateTime(allow_none=True)
    attempts = fields.Int(required=True)
    content_type = fields.Str(allow_none=True)
    size_bytes = fields.Int(required=True)
    body_preview = fields.Str(required=True)


class InboxList(Schema):
    events = fields.List(fields.Nested(InboxItem), required=True)
    counts = fields.Dict(keys=fields.Str(), values=fields.Int(), required=True)
    next_before_id = fields.Int(allow_none=True)


class SmsCounts(Schema):
    delivered = fields.Int(required=True)
    sent = fields.Int(required=True)
    waiting = fields.Int(required=True)
    failed = fields.Int(required=True)
    rejected = fields.Int(required=True)
    attention = fields.Int(required=True)


class SmsDay(SmsCounts):
    day = fields.Date(required=True)


class SmsRule(SmsCounts):
    rule = fields.Str(required=True)


class SmsTotals(SmsCounts):
    messages = fields.Int(required=True)
    segments = fields.Int(required=True)
    cost_kopecks = fields.Int(required=True)
    delivery_rate_pct = fields.Float(allow_none=True)


class SmsDashboard(Schema):
    period = fields.Dict(keys=fields.Str(), values=fields.Date(), required=True)
    groups = fields.List(fields.Str(), required=True)
    totals = fields.Nested(SmsTotals, required=True)
    by_day = fields.List(fields.Nested(SmsDay), required=True)
    by_rule = fields.List(fields.Nested(SmsRule), required=True)
