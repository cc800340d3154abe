"""A policy line on a deal that was never won is not a policy to renew."""

from __future__ import annotations

from datetime import date

from amo_bridge.accounts import create_account
from amo_bridge.db import Database
from amo_bridge.models import Policy
from amo_bridge.renewals.config import load_config
from amo_bridge.renewals.due import select_due


def test_only_sold_ours_and_foreign_policies_are_due(migrated_url):
    db = Database(migrated_url)
    with db.session() as session:
        account, _ = create_account(session, amocrm_id=1, subdomain="a", base_url="http://x")
        for key, kind, sold in (("sold", "ours", date(2026, 1, 10)), ("open", "ours", None),
                                ("foreign", "foreign", None)):
            session.add(Policy(account_id=account.id, external_key=key, kind=kind,
                               product_code="osago", ends_on=date(2026, 12, 1), sold_on=sold))
        session.flush()
        config = load_config(session, account.id)
        due = select_due(session, account.id, config, {"osago"}, date(2026, 11, 1))
        keys = {session.get(Policy, item.policy_id).external_key for item in due}
    db.dispose()
    assert keys == {"sold", "foreign"}
