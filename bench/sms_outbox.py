"""Benchmark: N reminders queued and sent through the outbox to the fake provider.

    python bench/sms_outbox.py [--quick] [--n N]

Figures (all measured in this run, on the embedded default — SQLite in a temp folder):

- **outbox**: the reminder scan queues N reminders (rendered, segmented, quiet hours checked,
  one row each under its idempotency key), then each is sent the way the job does it (claim →
  provider call → record, three units of work, plus its amoCRM note row) — messages per second;
- **reference**: the same N texts sent straight to the fake provider with no outbox;
- **ratio**: reference / outbox — what the "never twice" bookkeeping costs per message;
- **duplicates**: after re-running the scan and re-running every send job, how many SMS the
  provider got beyond N (must be 0);
- **renders**: sandboxed template renders per second, beside ``str.format`` of the same text.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select  # noqa: E402

from amo_bridge import migrate  # noqa: E402
from amo_bridge.accounts import create_account, get_section, set_section  # noqa: E402
from amo_bridge.clock import FrozenClock  # noqa: E402
from amo_bridge.db import Database  # noqa: E402
from amo_bridge.models import Account, Contact, ContactPhone, Policy, SmsMessage, User  # noqa: E402
from amo_bridge.products import load_defaults  # noqa: E402
from amo_bridge.templates import SAMPLE, render  # noqa: E402
from sms.fake import FakeGateway  # noqa: E402
from sms.gateway import OutgoingSms  # noqa: E402
from sms.registry import GatewaySet  # noqa: E402
from sms.reminders import scan_account  # noqa: E402
from sms.sending import send_message  # noqa: E402

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: inside the window


def seed(db: Database, n: int) -> int:
    ends = NOW.date() + timedelta(days=45)
    with db.session() as s:
        account, _ = create_account(s, amocrm_id=1, subdomain="bench", base_url="http://x")
        set_section(s, account.id, "sms_rules", {**get_section(s, account.id, "sms_rules"),
                                                 "company_name": "Надёжный полис"})
        s.add(User(account_id=account.id, amocrm_id=7, name="Дмитрий Волков",
                   profile_name="Дмитрий", profile_phone="+79991234567"))
        for i in range(n):
            contact = Contact(account_id=account.id, amocrm_id=10_000 + i,
                              name=f"Клиент {i}", first_name="Анна", middle_name="Петровна")
            s.add(contact)
            s.flush()
            s.add(ContactPhone(account_id=account.id, contact_id=contact.id,
                               phone=f"+7916{i:07d}", label="MOB"))
            s.add(Policy(account_id=account.id, external_key=f"p{i}", product_code="kasko",
                         number=f"ХХХ {i:010d}", insurer="Ингосстрах", ends_on=ends,
                         contact_id=contact.id, seller_amocrm_id=7))
        return account.id


def run_outbox(db: Database, account_id: int, gateways: GatewaySet, clock) -> list[int]:
    with db.session() as s:
        created = scan_account(s, s.get(Account, account_id), clock=clock)
        ids = [q.message.id for q in created]
    for message_id in ids:
        send_message(db, message_id, gateways=gateways, clock=clock)
    return ids


def renders_per_second(count: int) -> tuple[float, float]:
    source = load_defaults()["sms_templates"]["reminder"]["ru"]
    values = dict(SAMPLE)
    started = time.perf_counter()
    for _ in range(count):
        render(source, values)
    sandboxed = count / (time.perf_counter() - started)
    plain = ("{client_io}, ваш полис {product} № {policy_number} заканчивается {end_date}. "
             "Продлить его вы можете у своего менеджера: {manager_name}, {manager_phone}")
    started = time.perf_counter()
    for _ in range(count):
        plain.format(**values)
    return sandboxed, count / (time.perf_counter() - started)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 1 000 messages")
    parser.add_argument("--n", type=int, default=None)
    args = parser.parse_args(argv)
    n = args.n or (1_000 if args.quick else 10_000)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        migrate.upgrade(url)
        db = Database(url)
        # SQLite checkpoints and deletes its WAL whenever the last connection closes, and the
        # embedded engine opens one connection per unit of work (NullPool): without a second,
        # idle connection every commit would pay a checkpoint with fsync. The bridge's serving
        # process keeps connections busy the same way; this keeps the figure about the outbox.
        keeper = db.engine.raw_connection()
        account_id = seed(db, n)
        clock = FrozenClock(NOW)
        fake = FakeGateway()
        gateways = GatewaySet(fake)

        started, cpu = time.perf_counter(), time.process_time()
        ids = run_outbox(db, account_id, gateways, clock)
        outbox_seconds = time.perf_counter() - started
        outbox_cpu = time.process_time() - cpu

        # the same triggers again: the scan re-run, every send job re-run
        again = run_outbox(db, account_id, gateways, clock)
        for message_id in ids:
            send_message(db, message_id, gateways=gateways, clock=clock)
        with db.session() as s:
            texts = [(m.id, m.phone, m.text) for m in s.scalars(select(SmsMessage))]
            sent_rows = sum(1 for m in s.scalars(select(SmsMessage.status)) if m == "sent")
        duplicates = len(fake.sent) - len({ref for ref in (sms.reference for _, sms in
                                                             fake.sent)})
        extra = len(fake.sent) - n

        direct = FakeGateway(name="direct")
        started = time.perf_counter()
        for message_id, phone, text in texts:
            direct.send(OutgoingSms(reference=message_id, phone=phone or "", text=text))
        direct_seconds = time.perf_counter() - started
        keeper.close()
        db.dispose()

    outbox_rate, direct_rate = n / outbox_seconds, n / direct_seconds
    sandboxed, plain = renders_per_second(2_000 if args.quick else 20_000)
    print(f"sms_outbox: {n} reminders on SQLite (embedded default), fake provider")
    print(f"  outbox (scan + queue + send + note rows): {outbox_rate:,.0f} messages/s "
          f"({outbox_seconds:.2f} s wall, {outbox_cpu:.2f} s CPU)")
    print(f"  reference, direct sends, no outbox:       {direct_rate:,.0f} messages/s "
          f"({direct_seconds:.3f} s)")
    print(f"  ratio (reference / outbox):               {direct_rate / outbox_rate:,.0f}×")
    print(f"  sent rows {sent_rows} of {n}; re-run scan queued {len(again)}; "
          f"duplicates at the provider: {duplicates + max(extra, 0)}")
    print(f"  template renders: {sandboxed:,.0f}/s sandboxed vs {plain:,.0f}/s str.format "
          f"(ratio {plain / sandboxed:,.1f}×)")
    if duplicates or extra or len(again) or sent_rows != n:
        print("FAILED: the outbox sent a duplicate or lost a message", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
