"""Clients matched by phone, then by name; managers by name; money priced once."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from amo_bridge.imports.contacts import ContactResolver
from amo_bridge.imports.people import UserDirectory
from amo_bridge.imports.rows import Client
from amo_bridge.models import Contact, ContactPhone, ImportContact, MoneyLine, Policy

HEAD = "ФИО;Телефон;Вид страхования;Страховая компания;Номер полиса;Дата начала;" \
       "Дата окончания;Премия;КВ;Комиссия %;Менеджер"


def csv(*rows: str) -> bytes:
    return ("\r\n".join((HEAD, *rows)) + "\r\n").encode("utf-8")


def _ids(ledger, clients, **kwargs):
    with ledger.db.session() as session:
        resolver = ContactResolver(session, ledger.account_id, **kwargs)
        found = resolver.resolve(clients)
        names = {i: n for i, n in session.execute(select(Contact.id, Contact.name))}
        return [names.get(i, i) for i in found], resolver.stats


def test_phone_first_then_unique_full_name(ledger):
    names, stats = _ids(ledger, [
        Client("Пётр Петров", phones=("+79161234567",)),  # a phone beats a different spelling
        Client("Козлов Андрей", phones=("+74951234567",)),  # shared phone: the name decides
        Client("Козлова И.", phones=("+74951234567",)),  # shared, no name match: the oldest
        Client("мария сидорова"),  # no phone: a unique full name, any order or case
        Client("Сидорова"),  # one word is not enough to claim a contact
        Client("Новый Клиент", phones=("+79990000001",)),
        Client("Новый Клиент", phones=("+79990000001", "+79990000002")),  # same person again
        Client("Петров Пётр Петрович", phones=("+79990000003",)),  # new phone: never by name
    ])
    assert names == ["Петров Пётр Петрович", "Козлов Андрей", "Козлова Ирина",
                     "Сидорова Мария", "Сидорова", "Новый Клиент", "Новый Клиент",
                     "Петров Пётр Петрович"]
    assert len(stats.created) == 3 and len(stats.matched) == 4


def test_new_clients_are_queued_for_amocrm_with_their_phones(ledger):
    _, stats = _ids(ledger, [Client("Новый Клиент", phones=("+79990000001", "+74950000002"),
                                    email="n@example.com")], run_id=None)
    with ledger.db.session() as session:
        contact = session.get(Contact, stats.created[0])
        assert contact.amocrm_id is None and contact.email == "n@example.com"
        assert sorted(session.scalars(select(ContactPhone.label).where(
            ContactPhone.contact_id == contact.id))) == ["MOB", "WORK"]
        assert session.scalar(select(ImportContact.status).where(
            ImportContact.contact_id == contact.id)) == "pending"


def test_a_dry_run_creates_nobody(ledger):
    names, stats = _ids(ledger, [Client("А Б", phones=("+79990000001",)),
                                 Client("А Б", phones=("+79990000001",))], dry_run=True)
    assert names[0] == names[1] < 0 and len(stats.created) == 1
    with ledger.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ImportContact)) == 0


def test_managers_by_name_order_initials_email_or_id(ledger):
    with ledger.db.session() as session:
        users = UserDirectory.load(session, ledger.account_id)
    assert users.match("Смирнова Анна") == users.match("анна смирнова") == 8011001
    assert users.match("Волков Д.") == users.match("Д. Волков") == 8011002
    assert users.match("#8011003") == users.match("8011003") == 8011003
    assert users.match("Петров") is None and users.match("Волков А.") is None


def test_income_as_given_is_kept_and_the_rest_is_computed(ledger):
    result, _ = ledger.run(csv(
        "Орлов Олег;89031112233;ОСАГО;Ингосстрах;ХХХ 1;01.03.2024;28.02.2025;10 000;1 234,56;;"
        "Смирнова Анна",
        "Зайцев Максим;89035550000;НС;Ренессанс;НС-1;01.07.2024;30.06.2025;1500;;;Волков Д.",
        "Лисин Иван;89035550001;КАСКО;Ингосстрах;К-1;01.07.2024;30.06.2025;20 000;;12,5;",
    ), filename="money.csv")
    assert result.summary.imported == 3 and result.summary.money_lines == 3
    with ledger.db.session() as session:
        policies = {p.number: p for p in session.scalars(select(Policy).where(
            Policy.source == "import"))}
        kept = policies["ХХХ 1"]
        assert (kept.income, kept.seller_share) == (123456, 37037)  # 30 % of the kept income
        rated = policies["НС-1"]  # no % in the file: the account's rate table (10 %)
        assert (rated.commission_pct, rated.income) == (Decimal("10.0000"), 15000)
        given = policies["К-1"]
        assert (given.commission_pct, given.income, given.seller_share) == (
            Decimal("12.5000"), 250000, 0)  # no manager: no seller's share
        sales = session.execute(select(MoneyLine.policy_id, MoneyLine.kind, MoneyLine.booked_on)
                                .order_by(MoneyLine.policy_id)).all()
        assert [(kind, str(on)) for _, kind, on in sales] == [
            ("sale", "2024-03-01"), ("sale", "2024-07-01"), ("sale", "2024-07-01")]
    again, _ = ledger.run(csv(
        "Орлов Олег;89031112233;ОСАГО;Ингосстрах;ХХХ 1;01.03.2024;28.02.2025;10 000;1 234,56;;"
        "Смирнова Анна"), filename="money.csv")
    assert (again.summary.unchanged, again.summary.money_lines) == (1, 0)


def test_a_contact_the_mirror_saw_first_is_merged_not_doubled(ledger):
    """amoCRM's webhook about our new contact can beat our own commit of its id."""
    from amo_bridge.imports import push

    _, stats = _ids(ledger, [Client("Гонка Вебхука", phones=("+79990000009",))])
    local = stats.created[0]
    with ledger.db.session() as session:
        session.add(Policy(account_id=ledger.account_id, external_key="k", source="import",
                           product_code="osago", contact_id=local))
        mirrored = Contact(account_id=ledger.account_id, amocrm_id=777, name="Гонка Вебхука")
        session.add(mirrored)
        session.flush()
        session.add(ContactPhone(account_id=ledger.account_id, contact_id=mirrored.id,
                                 phone="+79990000009"))
        item = session.scalar(select(ImportContact).where(ImportContact.contact_id == local))
        push.link(session, item, 777)
    with ledger.db.session() as session:
        assert session.get(Contact, local) is None
        assert session.scalar(select(Policy.contact_id).where(Policy.external_key == "k")) == \
            mirrored.id
        assert session.scalars(select(ContactPhone.phone).where(
            ContactPhone.contact_id == mirrored.id)).all() == ["+79990000009"]
        assert session.scalar(select(func.count()).select_from(ImportContact)) == 0
