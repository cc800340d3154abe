"""Foreign policies («чужие»): insurance a client holds elsewhere, entered by a manager.

Seed 002, part 2: talking to a client, the manager learns which other policies they have and
when those end, and enters them in a separate section; renewals are created for them too. They
are ordinary ``policy`` rows of kind ``foreign`` (source ``manual``), so the scan, the preview,
the follow-ups and the client's history treat them like any other policy.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from amo_bridge.accounts import products_for
from amo_bridge.amocrm.fields import normalize_name
from amo_bridge.models import Contact, Policy, PolicyKind, PolicySource, Renewal, RenewalStatus
from amo_bridge.products import UnknownProduct
from amo_bridge.renewals.errors import RenewalsError

EDITABLE = ("product_code", "insurer", "number", "starts_on", "ends_on", "premium", "terms",
            "insured_object")
#: Renewal states that mean amoCRM has (or may have) a deal for this policy.
IN_AMOCRM = (RenewalStatus.CREATING, RenewalStatus.CREATED, RenewalStatus.RENEWED,
             RenewalStatus.NOT_RENEWED, RenewalStatus.CANCELLED, RenewalStatus.FAILED)


def contact_by_amocrm_id(session: Session, account_id: int, amocrm_id: int) -> Contact:
    """The mirrored contact; a stub row when the mirror has not seen it yet (it fills it)."""
    contact = session.scalar(select(Contact).where(Contact.account_id == account_id,
                                                   Contact.amocrm_id == amocrm_id))
    if contact is None:
        contact = Contact(account_id=account_id, amocrm_id=amocrm_id, name="")
        session.add(contact)
        session.flush()
    return contact


def _values(session: Session, account_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if k in EDITABLE or k == "product"}
    if "product" in values:
        try:
            values["product_code"] = products_for(session, account_id).resolve(
                str(values.pop("product"))).code
        except UnknownProduct as exc:
            raise RenewalsError(422, "renewals.product.unknown", product=exc.value) from None
    return values


def _check_dates(starts_on: date | None, ends_on: date | None) -> None:
    if starts_on and ends_on and ends_on < starts_on:
        raise RenewalsError(422, "renewals.policy.dates")


def add_foreign(session: Session, account_id: int, contact: Contact, data: Mapping[str, Any],
                *, entered_by: int) -> Policy:
    values = _values(session, account_id, data)
    _check_dates(values.get("starts_on"), values.get("ends_on"))
    key = f"foreign:{uuid.uuid4().hex}"
    if values.get("number"):
        key = (f"foreign:{values['product_code']}:{normalize_name(values.get('insurer') or '')}:"
               f"{normalize_name(values['number'])}")[:255]
        if session.scalar(select(exists().where(Policy.account_id == account_id,
                                                Policy.external_key == key))):
            raise RenewalsError(409, "renewals.policy.duplicate", number=values["number"])
    policy = Policy(account_id=account_id, external_key=key, kind=PolicyKind.FOREIGN,
                    source=PolicySource.MANUAL, contact_id=contact.id,
                    entered_by_amocrm_id=entered_by, premium=values.pop("premium", None) or 0,
                    insured_object=values.pop("insured_object", None) or {}, **values)
    session.add(policy)
    session.flush()
    return policy


def foreign_policy(session: Session, account_id: int, policy_id: int) -> Policy:
    policy = session.get(Policy, policy_id)
    if policy is None or policy.account_id != account_id:
        raise RenewalsError(404, "renewals.not_found", what=f"policy {policy_id}")
    if policy.kind != PolicyKind.FOREIGN:
        raise RenewalsError(409, "renewals.policy.not_foreign")
    return policy


def edit_foreign(session: Session, policy: Policy, data: Mapping[str, Any]) -> tuple[str, ...]:
    """Apply the given fields; returns the names that changed (the caller audits them)."""
    values = _values(session, policy.account_id, data)
    if "premium" in values and values["premium"] is None:
        values["premium"] = 0
    _check_dates(values.get("starts_on", policy.starts_on), values.get("ends_on", policy.ends_on))
    changed = tuple(k for k, v in values.items() if getattr(policy, k) != v)
    for name in changed:
        setattr(policy, name, values[name])
    session.flush()
    return changed


def remove_foreign(session: Session, policy: Policy) -> None:
    """Delete a foreign policy entered by mistake — unless amoCRM already has its renewal deal
    (then the deal must be closed there, so the history stays consistent)."""
    if session.scalar(select(exists().where(Renewal.policy_id == policy.id,
                                            Renewal.status.in_(IN_AMOCRM)))):
        raise RenewalsError(409, "renewals.policy.has_renewal")
    session.delete(policy)  # reservations not yet sent go with it (ON DELETE CASCADE)
    session.flush()
