from amo_bridge.accounts import (
    account_by_webhook_token,
    create_account,
    get_section,
    products_for,
    rotate_webhook_token,
    set_section,
)
from amo_bridge.db import Database


def test_accounts_tokens_and_sections(migrated_url):
    db = Database(migrated_url)
    with db.session() as session:
        account, token = create_account(session, amocrm_id=29085712, subdomain="demo-broker",
                                        base_url="https://demo-broker.amocrm.ru/")
        assert account.base_url == "https://demo-broker.amocrm.ru"
        assert token not in account.webhook_token_hash  # stored hashed
        assert account_by_webhook_token(session, token).id == account.id
        assert account_by_webhook_token(session, token + "x") is None

        assert get_section(session, account.id, "renewals")["days_before"] == 45
        renewals = get_section(session, account.id, "renewals")
        renewals["days_before"] = 60
        set_section(session, account.id, "renewals", renewals, by=1)
        set_section(session, account.id, "renewals", renewals | {"tag": "x"}, by=2)
    with db.session() as session:
        assert get_section(session, account.id, "renewals")["days_before"] == 60
        assert get_section(session, account.id, "renewals")["tag"] == "x"
        assert products_for(session, account.id).resolve("каско").code == "kasko"
        new = rotate_webhook_token(session, session.merge(account))
        assert new != token
    with db.session() as session:
        assert account_by_webhook_token(session, token) is None
        assert account_by_webhook_token(session, new) is not None
    db.dispose()
