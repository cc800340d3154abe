"""New policies are priced before their INSERT: the same money as pricing them one by one.

The importer computes a new policy's figures and its sale line before inserting it (no UPDATE
after); ``money.price_policy`` — the one-by-one reference — must then find nothing to change and
nothing to book, for every kind of row: figures kept from the file, a commission from the rate
table, salary shares by rule, no manager, no start date, a foreign policy.
"""

from __future__ import annotations

from sqlalchemy import func, select

from amo_bridge.ledger.money import price_policy
from amo_bridge.models import MoneyLine, Policy

HEAD = "ФИО;Телефон;Вид страхования;Страховая компания;Номер полиса;Дата начала;" \
       "Дата окончания;Премия;КВ;Комиссия %;Менеджер;ЗП продавца;Наш/чужой"
ROWS = (
    "Орлов Олег;89031112233;ОСАГО;Ингосстрах;ХХХ 1;01.03.2024;28.02.2025;10 000;1 234,56;;"
    "Смирнова Анна;;наш",
    "Зайцев Максим;89035550000;НС;Ренессанс;НС-1;01.07.2024;30.06.2025;1500;;;Волков Д.;;",
    "Лисин Иван;89035550001;КАСКО;Ингосстрах;К-1;01.07.2024;30.06.2025;20 000;;12,5;;;",
    "Лисин Иван;89035550001;КАСКО;Ингосстрах;К-2;;30.06.2025;20 000;;12,5;Волков Д.;;",
    "Щукин Павел;89035550002;НС;ВСК;НС-2;01.08.2024;31.07.2025;3 000;;;Смирнова Анна;450;",
    "Щукин Павел;89035550002;ОСАГО;ВСК;ХХХ 2;01.08.2024;31.07.2025;;;;;;чужой",
)


def test_priced_at_insert_is_what_price_policy_gives(ledger):
    raw = ("\r\n".join((HEAD, *ROWS)) + "\r\n").encode("utf-8")
    result, rejected = ledger.run(raw, filename="money.csv")
    assert result.summary.imported == len(ROWS), rejected
    figures = ("commission_pct", "income", "seller_share", "issuer_share")
    with ledger.db.session() as session:
        policies = session.scalars(select(Policy).where(Policy.source == "import")
                                   .order_by(Policy.id)).all()
        stored = {p.number: tuple(getattr(p, f) for f in figures) for p in policies}
        lines = session.scalar(select(func.count()).select_from(MoneyLine))
        assert lines == result.summary.money_lines == 4  # ours, with a sale date
        assert stored["НС-1"][:2] != (None, 0)  # the rate table's 10 % and its income
        assert stored["НС-2"][2] == 45000  # «ЗП продавца» kept as found
        for policy in policies:
            keep = {"income"} if policy.number == "ХХХ 1" else \
                {"seller_share"} if policy.number == "НС-2" else set()
            if policy.kind == "ours":
                assert price_policy(session, policy, clock=ledger.clock, keep_figures=keep) == []
            assert tuple(getattr(policy, f) for f in figures) == stored[policy.number]
        session.rollback()
