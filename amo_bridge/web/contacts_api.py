"""The contact card's own facts the panel needs beside the history: the client's phones,
which one is confirmed, and whether they opted out of SMS."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import select

from amo_bridge.models import Contact, ContactPhone
from amo_bridge.web.auth import widget_auth
from amo_bridge.web.money_common import identity, iso, load_query, runtime
from amo_bridge.web.money_schemas import LangQuery

bp = Blueprint("contacts_api", __name__)


@bp.get("/contacts/<int:contact_id>/summary")
@widget_auth()
def contact_summary(contact_id: int):
    """Phones (E.164) with amoCRM's labels, the confirmed one, consent and opt-out."""
    load_query(LangQuery())
    who = identity()
    with runtime().db.read_session() as session:
        contact = session.scalar(select(Contact).where(Contact.account_id == who.account_id,
                                                       Contact.amocrm_id == contact_id))
        phones = [] if contact is None else session.execute(
            select(ContactPhone.phone, ContactPhone.label).where(
                ContactPhone.contact_id == contact.id).order_by(ContactPhone.id)).all()
        return jsonify(
            id=contact_id, known=contact is not None, name=contact.name if contact else "",
            phones=[{"phone": phone, "label": label} for phone, label in phones],
            verified_phone=contact.verified_phone if contact else None,
            phone_verified_at=iso(contact.phone_verified_at) if contact else None,
            opted_out=bool(contact and contact.opted_out_at),
            marketing_consent=bool(contact and contact.marketing_consent_at))
