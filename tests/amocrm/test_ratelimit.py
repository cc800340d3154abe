from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from amo_bridge.amocrm.errors import AccountBlocked, RateLimited
from amo_bridge.amocrm.ratelimit import LocalRateLimiter, acquire
from amo_bridge.amocrm.ratelimit_redis import RedisRateLimiter
from tests.amocrm.conftest import FakeTime


def test_slots_are_one_interval_apart_without_burst() -> None:
    t = FakeTime()
    limiter = LocalRateLimiter(rate=5, timer=t)
    waits = [limiter.reserve("a", max_wait=10).wait for _ in range(4)]
    assert waits == pytest.approx([0.0, 0.2, 0.4, 0.6])


def test_long_wait_is_refused_and_not_reserved() -> None:
    t = FakeTime()
    limiter = LocalRateLimiter(rate=5, timer=t)
    for _ in range(3):
        limiter.reserve("a", max_wait=1)
    permit = limiter.reserve("a", max_wait=0.3)
    assert not permit.granted and permit.wait == pytest.approx(0.6)
    # the refusal took no slot
    assert limiter.reserve("a", max_wait=1).wait == pytest.approx(0.6)


def test_accounts_are_independent() -> None:
    limiter = LocalRateLimiter(rate=5, timer=FakeTime())
    limiter.reserve("a", max_wait=1)
    assert limiter.reserve("b", max_wait=1).wait == 0


def test_cool_down_delays_every_slot() -> None:
    t = FakeTime()
    limiter = LocalRateLimiter(rate=5, timer=t)
    limiter.cool_down("a", 3)
    limiter.cool_down("a", 1)  # never shortens
    with pytest.raises(RateLimited) as info:
        acquire(limiter, "a", max_wait=2, sleep=t.sleep)
    assert info.value.retry_after == pytest.approx(3)
    assert acquire(limiter, "a", max_wait=5, sleep=t.sleep) == pytest.approx(3)


def test_circuit_blocks_until_closed_or_expired() -> None:
    t = FakeTime()
    limiter = LocalRateLimiter(rate=5, timer=t)
    limiter.open_circuit("a", "403 page")
    with pytest.raises(AccountBlocked):
        acquire(limiter, "a", sleep=t.sleep)
    limiter.close_circuit("a")
    acquire(limiter, "a", sleep=t.sleep)
    limiter.open_circuit("a", "403 page", ttl=10)
    t.sleep(11)
    assert limiter.circuit("a") is None


def test_rate_must_be_within_amocrm_limit() -> None:
    with pytest.raises(ValueError):
        LocalRateLimiter(rate=8)


def _max_in_window(stamps: list[float], width: float = 1.0) -> int:
    stamps.sort()
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= width:
            start += 1
        best = max(best, end - start + 1)
    return best


def _hammer(limiter, key: str, *, threads: int = 6, seconds: float = 1.6) -> list[float]:
    """Threads taking slots as fast as they are given for ``seconds``; the slots' times.

    Each stamp is the slot granted (its wait counted from the call), not the moment the thread
    got to run again after sleeping: on a loaded machine a woken thread may run late and bunch
    up with the next slot's, which says nothing about the limiter.
    """
    stamps: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            asked = time.monotonic()
            waited = acquire(limiter, key, max_wait=5)
            with lock:
                stamps.append(asked + waited)

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return stamps


def test_threads_hammering_stay_within_rate() -> None:
    stamps = _hammer(LocalRateLimiter(rate=7), "a")
    assert _max_in_window(stamps) <= 7 + 1
    assert len(stamps) >= 10


@pytest.fixture
def redis_client():
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL not set")
    import redis

    client = redis.Redis.from_url(url)
    prefix = f"test-amocrm-{uuid.uuid4().hex}"
    yield client, prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.mark.redis
def test_redis_limiter_spaces_slots(redis_client) -> None:
    client, prefix = redis_client
    limiter = RedisRateLimiter(client, rate=5, prefix=prefix)
    waits = [limiter.reserve("a", max_wait=10).wait for _ in range(4)]
    # Redis TIME moves between calls, so waits are a little shorter than the ideal schedule.
    for got, ideal in zip(waits, [0.0, 0.2, 0.4, 0.6], strict=True):
        assert ideal - 0.05 <= got <= ideal + 0.001
    refused = limiter.reserve("a", max_wait=0.1)
    assert not refused.granted and refused.wait > 0.5


@pytest.mark.redis
def test_redis_limiter_cool_down_and_circuit(redis_client) -> None:
    client, prefix = redis_client
    limiter = RedisRateLimiter(client, rate=5, prefix=prefix)
    limiter.cool_down("a", 2)
    permit = limiter.reserve("a", max_wait=0.5)
    assert not permit.granted and 1.5 < permit.wait <= 2.0
    limiter.open_circuit("a", "blocked by amoCRM")
    assert limiter.circuit("a") == "blocked by amoCRM"
    with pytest.raises(AccountBlocked):
        acquire(limiter, "a")
    limiter.close_circuit("a")
    assert limiter.circuit("a") is None
    assert limiter.reserve("b", max_wait=0).granted


@pytest.mark.redis
def test_redis_limiter_threads_stay_within_rate(redis_client) -> None:
    client, prefix = redis_client
    stamps = _hammer(RedisRateLimiter(client, rate=7, prefix=prefix), "x")
    assert _max_in_window(stamps) <= 7 + 1


def test_repeated_429s_escalate_the_cool_down() -> None:
    t = FakeTime()
    limiter = LocalRateLimiter(rate=5, timer=t)
    assert limiter.cool_down("a", 2) == pytest.approx(2)
    t.sleep(3)
    assert limiter.cool_down("a", 2) == pytest.approx(4)
    t.sleep(5)
    assert limiter.cool_down("a", 2) == pytest.approx(8)
    t.sleep(61)  # strikes older than a minute are forgotten
    assert limiter.cool_down("a", 2) == pytest.approx(2)


def test_a_429_during_the_wait_cancels_the_slot() -> None:
    t = FakeTime()
    limiter = LocalRateLimiter(rate=5, timer=t)
    acquire(limiter, "a", sleep=t.sleep)

    def sleep_through_a_429(seconds: float) -> None:
        t.sleep(seconds)
        limiter.cool_down("a", 2)  # another worker met a 429 meanwhile

    with pytest.raises(RateLimited) as info:
        acquire(limiter, "a", sleep=sleep_through_a_429)
    assert info.value.retry_after == pytest.approx(2)


@pytest.mark.redis
def test_redis_cool_down_escalates_and_is_visible(redis_client) -> None:
    client, prefix = redis_client
    limiter = RedisRateLimiter(client, rate=5, prefix=prefix)
    assert limiter.cooling("a") == 0
    assert limiter.cool_down("a", 0.2) == pytest.approx(0.2, abs=0.01)
    assert limiter.cool_down("a", 0.2) == pytest.approx(0.4, abs=0.01)
    assert 0.3 < limiter.cooling("a") <= 0.4


def test_a_429_widens_the_spacing_for_a_minute() -> None:
    t = FakeTime()
    limiter = LocalRateLimiter(rate=5, timer=t)
    limiter.cool_down("a", 1)
    t.sleep(1)
    waits = [limiter.reserve("a", max_wait=10).wait for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.22, 0.44])
    t.sleep(61)
    waits = [limiter.reserve("a", max_wait=10).wait for _ in range(2)]
    assert waits == pytest.approx([0.0, 0.2])


@pytest.mark.redis
def test_redis_429_widens_the_spacing(redis_client) -> None:
    client, prefix = redis_client
    limiter = RedisRateLimiter(client, rate=5, prefix=prefix)
    limiter.cool_down("a", 0.001)
    time.sleep(0.01)
    calls = []  # (sent, answered, wait): Redis read its clock somewhere between the two
    for _ in range(3):
        sent = time.monotonic()
        wait = limiter.reserve("a", max_wait=10).wait
        calls.append((sent, time.monotonic(), wait))
    # Slot i is 0.22 * i after slot 0 (on Redis's clock), however long the round trips took:
    # the gap lies between the earliest and the latest moments Redis can have read its clock.
    first_sent, first_answered, first_wait = calls[0]
    for i, (sent, answered, wait) in enumerate(calls[1:], start=1):
        earliest = sent - first_answered + wait - first_wait
        latest = answered - first_sent + wait - first_wait
        assert earliest - 0.005 <= 0.22 * i <= latest + 0.005, (i, earliest, latest)
