"""The finance ledger: one row per money line in the period, in :data:`LEDGER_COLUMNS` order.

Rows are streamed from one SQL query (money lines joined to their policy, client and deal) in
chunks, so a year of lines never sits in memory at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from amo_bridge.accounts import products_for
from amo_bridge.exports.columns import OPERATIONS
from amo_bridge.models import Account, Contact, Deal, MoneyLine, Policy
from amo_bridge.reports.common import ReportFilter, line_conditions, user_names


def deal_url(base_url: str, deal_amocrm_id: int | None) -> str | None:
    if deal_amocrm_id is None:
        return None
    return f"{base_url.rstrip('/')}/leads/detail/{deal_amocrm_id}"


def product_names(session: Session, account_id: int, lang: str) -> dict[str, str]:
    return {p.code: p.name(lang) for p in products_for(session, account_id)}


def ledger_rows(
    session: Session, account_id: int, flt: ReportFilter, *, lang: str = "ru", chunk: int = 5000
) -> Iterator[tuple[Any, ...]]:
    """Ledger rows, oldest booking first; a manager filter keeps lines they sold or issued."""
    account = session.get(Account, account_id)
    base_url = account.base_url if account else ""
    names = user_names(session, account_id)
    products = product_names(session, account_id, lang)
    operations = {
        kind: labels["en" if lang == "en" else "ru"] for kind, labels in OPERATIONS.items()
    }
    line = MoneyLine
    statement = (
        select(
            line.kind,
            line.booked_on,
            line.sold_on,
            Contact.name,
            line.product_code,
            line.insurer,
            Policy.number,
            line.premium,
            line.commission_pct,
            line.income,
            Policy.starts_on,
            Policy.ends_on,
            line.seller_amocrm_id,
            line.issuer_amocrm_id,
            line.seller_share,
            line.issuer_share,
            Deal.amocrm_id,
            Policy.external_key,
        )
        .join(Policy, Policy.id == line.policy_id)
        .outerjoin(Contact, Contact.id == Policy.contact_id)
        .outerjoin(Deal, Deal.id == Policy.deal_id)
        .where(*line_conditions(account_id, flt))
        .order_by(line.booked_on, line.id)
        .execution_options(yield_per=chunk)
    )
    if flt.manager is not None:
        statement = statement.where(
            or_(line.seller_amocrm_id == flt.manager, line.issuer_amocrm_id == flt.manager)
        )
    for (
        kind,
        booked_on,
        sold_on,
        client,
        product,
        insurer,
        number,
        premium,
        pct,
        income,
        starts_on,
        ends_on,
        seller,
        issuer,
        seller_share,
        issuer_share,
        deal_id,
        key,
    ) in session.execute(statement):
        yield (
            operations.get(kind, kind),
            booked_on,
            sold_on,
            client,
            products.get(product, product),
            insurer,
            number,
            premium,
            pct,
            income,
            starts_on,
            ends_on,
            names.get(seller, f"#{seller}") if seller is not None else None,
            names.get(issuer, f"#{issuer}") if issuer is not None else None,
            seller_share,
            issuer_share,
            deal_id,
            deal_url(base_url, deal_id),
            key,
        )
