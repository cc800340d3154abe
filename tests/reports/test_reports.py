"""Every report against the hand-computed figures in tests/fixtures/money, to the kopeck."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from amo_bridge.exports.columns import LEDGER_COLUMNS, OPERATIONS
from amo_bridge.exports.ledger import ledger_rows
from amo_bridge.products import default_products
from amo_bridge.reports.client import client_history
from amo_bridge.reports.common import ReportFilter
from amo_bridge.reports.payroll import payroll
from amo_bridge.reports.period import Period
from amo_bridge.reports.plan_fact import plan_vs_fact
from amo_bridge.reports.retention import retention
from tests.reports.dataset import TODAY, rows


def _opt_int(text: str) -> int | None:
    return int(text) if text else None


def _opt_pct(text: str) -> Decimal | None:
    return Decimal(text) if text else None


def expected_ledger(names: dict[int, str]) -> list[dict]:
    products = default_products()
    found = []
    for row in rows("expected_ledger.csv"):
        found.append(
            {
                "operation": OPERATIONS[row["operation"]]["ru"],
                "booked_on": date.fromisoformat(row["booked_on"]),
                "sold_on": date.fromisoformat(row["sold_on"]),
                "client": row["client"],
                "product": products.get(row["product"]).name_ru,
                "insurer": row["insurer"],
                "number": row["number"],
                "premium": int(row["premium"]),
                "commission_pct": Decimal(row["commission_pct"]),
                "income": int(row["income"]),
                "starts_on": date.fromisoformat(row["starts_on"]),
                "ends_on": date.fromisoformat(row["ends_on"]),
                "seller": names[int(row["seller"])],
                "issuer": names[int(row["issuer"])],
                "seller_share": int(row["seller_share"]),
                "issuer_share": int(row["issuer_share"]),
                "deal_id": int(row["deal_id"]),
                "deal_url": f"https://broker.amocrm.ru/leads/detail/{row['deal_id']}",
                "policy_key": row["policy_key"],
            }
        )
    return found


def test_ledger_matches_the_hand_computed_lines(money_db, quarter):
    db, loaded = money_db
    with db.session() as session:
        got = [
            dict(zip([c.key for c in LEDGER_COLUMNS], values, strict=True))
            for values in ledger_rows(session, loaded.account_id, quarter)
        ]
    assert got == expected_ledger(loaded.users)


def test_plan_vs_fact_matches(money_db, quarter):
    db, loaded = money_db
    with db.session() as session:
        report = plan_vs_fact(session, loaded.account_id, quarter)

    def line(label_month: str, label_manager: str, r) -> dict:
        return {
            "month": label_month,
            "manager": label_manager,
            "policies": r.policies,
            "cancellations": r.cancellations,
            "premium": r.premium,
            "income": r.income,
            "plan_income": r.plan_income,
            "income_pct": r.income_pct,
            "plan_premium": r.plan_premium,
            "premium_pct": r.premium_pct,
        }

    got = [line(r.month.strftime("%Y-%m"), str(r.manager), r) for r in report.rows]
    got += [line(r.month.strftime("%Y-%m"), "team", r) for r in report.months]
    got.append(line("total", "team", report.total))
    expected = [
        {
            "month": e["month"],
            "manager": e["manager"],
            "policies": int(e["policies"]),
            "cancellations": int(e["cancellations"]),
            "premium": int(e["premium"]),
            "income": int(e["income"]),
            "plan_income": _opt_int(e["plan_income"]),
            "income_pct": _opt_pct(e["income_pct"]),
            "plan_premium": _opt_int(e["plan_premium"]),
            "premium_pct": _opt_pct(e["premium_pct"]),
        }
        for e in rows("expected_plan_fact.csv")
    ]
    assert got == expected
    assert [r.manager_name for r in report.rows[:3]] == [loaded.users[i] for i in (101, 102, 103)]


def test_payroll_matches_and_its_lines_add_up_to_each_figure(money_db, quarter):
    db, loaded = money_db
    with db.session() as session:
        report = payroll(session, loaded.account_id, quarter, with_lines=True)
    got = [
        {
            "month": r.month.strftime("%Y-%m"),
            "employee": str(r.employee),
            "seller_policies": r.seller_policies,
            "seller_share": r.seller_share,
            "issuer_policies": r.issuer_policies,
            "issuer_share": r.issuer_share,
            "total": r.total,
        }
        for r in report.rows
    ]
    t = report.total
    got.append(
        {
            "month": "total",
            "employee": "all",
            "seller_policies": t.seller_policies,
            "seller_share": t.seller_share,
            "issuer_policies": t.issuer_policies,
            "issuer_share": t.issuer_share,
            "total": t.total,
        }
    )
    expected = [
        {k: (v if k in ("month", "employee") else int(v)) for k, v in e.items()}
        for e in rows("expected_payroll.csv")
    ]
    assert got == expected
    for row in report.rows:
        by_role = defaultdict(int)
        for line in row.lines:
            assert line.employee == row.employee and line.booked_on.replace(day=1) == row.month
            by_role[line.role] += line.share
        assert (by_role["seller"], by_role["issuer"]) == (row.seller_share, row.issuer_share)
    anna_october = report.rows[0]
    assert sorted((x.role, x.number) for x in anna_october.lines) == [
        ("issuer", "XXX0000008"),
        ("issuer", "ИФЛ-5"),
        ("seller", "XXX0000001"),
    ]


def test_retention_matches_and_marks_rows_below_target(money_db):
    db, loaded = money_db
    with db.session() as session:
        report = retention(session, loaded.account_id, ReportFilter(period=Period.parse("2026-11")))

    def line(product: str, manager: str, r) -> dict:
        return {
            "product": product,
            "manager": manager,
            "due": r.due,
            "renewed": r.renewed,
            "lost": r.lost,
            "pending": r.pending,
            "premium_due": r.premium_due,
            "rate_pct": r.rate_pct,
            "target_pct": r.target_pct,
            "below_target": "yes" if r.below_target else "no",
        }

    got = [line(r.product_code, str(r.manager), r) for r in report.rows]
    got += [line(r.product_code, "*", r) for r in report.products]
    got.append(line("total", "*", report.total))
    expected = [
        {
            **e,
            **{k: int(e[k]) for k in ("due", "renewed", "lost", "pending", "premium_due")},
            "rate_pct": _opt_pct(e["rate_pct"]),
            "target_pct": _opt_pct(e["target_pct"]),
        }
        for e in rows("expected_retention.csv")
    ]
    assert got == expected


def test_client_history_matches(money_db):
    db, loaded = money_db
    keys = {policy_id: key for key, policy_id in loaded.policies.items()}
    with db.session() as session:
        history = client_history(
            session, loaded.account_id, contact_id=loaded.contacts["ivanov"], today=TODAY
        )
    got = [
        {
            "section": "policy",
            "key": keys[p.id],
            "kind": p.kind,
            "status": p.status,
            "product": p.product_code,
            "insurer": p.insurer or "",
            "number": p.number or "",
            "premium": str(p.premium),
            "starts_on": str(p.starts_on),
            "ends_on": str(p.ends_on),
            "seller": str(p.seller.amocrm_id or ""),
            "issuer": str(p.issuer.amocrm_id or ""),
            "deal_id": str(p.deal_amocrm_id or ""),
            "loss_reason": "",
        }
        for p in history.policies
    ]
    blank = dict.fromkeys(
        (
            "kind",
            "status",
            "product",
            "insurer",
            "number",
            "premium",
            "starts_on",
            "ends_on",
            "seller",
            "issuer",
            "deal_id",
            "loss_reason",
        ),
        "",
    )
    got.append({**blank, "section": "ends_next", "key": keys[history.ends_next.id]})
    got += [
        {
            **blank,
            "section": "deal",
            "key": str(d.amocrm_id),
            "kind": d.state,
            "deal_id": str(d.amocrm_id),
            "loss_reason": d.loss_reason or "",
        }
        for d in history.deals
    ]
    assert got == rows("expected_client_history.csv")
    p1 = history.policies[0]
    assert (p1.seller.name, p1.issuer.name, p1.product_name) == (
        "Анна Смирнова",
        "Борис Орлов",
        "ОСАГО",
    )
    assert not hasattr(p1, "income")  # the contact card never shows the broker's money


def test_filters_narrow_every_report(money_db, quarter):
    db, loaded = money_db
    ledger = rows("expected_ledger.csv")
    with db.session() as session:
        kasko = ReportFilter(period=quarter.period, product="kasko")
        report = plan_vs_fact(session, loaded.account_id, kasko)
        assert (
            report.total.income
            == sum(int(r["income"]) for r in ledger if r["product"] == "kasko")
            == 1_420_495
        )
        alfa = ReportFilter(period=quarter.period, insurer="АльфаСтрахование")
        pay = payroll(session, loaded.account_id, alfa)
        assert pay.total.total == sum(
            int(r["seller_share"]) + int(r["issuer_share"])
            for r in ledger
            if r["insurer"] == "АльфаСтрахование"
        )
        assert plan_vs_fact(session, loaded.account_id, alfa).total.plan_income is None
        anna = ReportFilter(period=quarter.period, manager=101)
        assert {r.manager for r in plan_vs_fact(session, loaded.account_id, anna).rows} == {101}
        assert {r.employee for r in payroll(session, loaded.account_id, anna).rows} == {101}
        anna_lines = list(ledger_rows(session, loaded.account_id, anna))
        assert len(anna_lines) == sum(1 for r in ledger if "101" in (r["seller"], r["issuer"]))
        days = ReportFilter(period=Period.parse("2026-11-15..2026-11-30"))
        assert [r[-1] for r in ledger_rows(session, loaded.account_id, days)] == ["P6", "P0"]
        assert plan_vs_fact(session, loaded.account_id, days).total.income == 80_000
        ret = retention(
            session, loaded.account_id, ReportFilter(period=Period.parse("2026-11"), manager=103)
        )
        assert {(r.product_code, r.due) for r in ret.rows} == {("kasko", 2), ("osago", 1)}
