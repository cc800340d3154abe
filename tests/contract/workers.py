"""Worker entry points for the multi-process contract tests (importable under ``spawn``)."""

from __future__ import annotations

import time
from typing import Any

from amo_bridge.amocrm.errors import AmoError, RateLimited
from amo_bridge.amocrm.http import make_session
from amo_bridge.amocrm.ratelimit_redis import RedisRateLimiter
from amo_bridge.connections import client_for_account
from amo_bridge.db import Database
from amo_bridge.models import Account
from amo_bridge.settings import Settings


def settings_for(credentials: dict[str, str], *, rate: float = 5.0) -> Settings:
    return Settings(amocrm_client_id=credentials["client_id"],
                    amocrm_client_secret=credentials["client_secret"],
                    amocrm_redirect_uri=credentials["redirect_uri"],
                    amocrm_rate_per_second=rate)


def call_account(database_url: str, account_id: int, credentials: dict[str, str],
                 barrier: Any, redis_url: str | None = None,
                 redis_prefix: str | None = None) -> str:
    """Build a client the way a worker does, wait for the others, call the API once.

    Returns ``ok:<access token used>`` or ``error:<type>:<message>``.
    """
    redis = limiter = None
    if redis_url:
        import redis as redis_lib

        redis = redis_lib.Redis.from_url(redis_url)
        limiter = RedisRateLimiter(redis, rate=5, prefix=f"{redis_prefix}:limit")
    database = Database(database_url)
    try:
        with database.session() as session:
            account = session.get(Account, account_id)
        client = client_for_account(database, account, settings_for(credentials), redis=redis,
                                    limiter=limiter)
        barrier.wait(timeout=60)
        try:
            client.account()
        except AmoError as exc:
            return f"error:{type(exc).__name__}:{exc}"
        pair = client.token_manager.store.load()
        return f"ok:{pair.access_token if pair else None}"
    finally:
        database.dispose()
        if redis is not None:
            redis.close()


def in_process(queue: Any, target: str, *args: Any, **kwargs: Any) -> None:
    """Process entry point: run ``target`` (a function of this module), report via ``queue``."""
    try:
        queue.put(globals()[target](*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the test
        queue.put(f"crash:{type(exc).__name__}:{exc}")


def run_in_processes(count: int, target: str, *args: Any, timeout: float = 180,
                     **kwargs: Any) -> list[Any]:
    """Start ``count`` spawned processes that share one barrier (passed by inheritance)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(count)
    queue = context.Queue()
    processes = [context.Process(target=in_process, args=(queue, target, *args),
                                 kwargs={**kwargs, "barrier": barrier}) for _ in range(count)]
    for process in processes:
        process.start()
    try:
        return [queue.get(timeout=timeout) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)


def push_hard(base_url: str, access_token: str, amocrm_id: int, redis_url: str, prefix: str,
              rate: float, seconds: float, barrier: Any) -> dict[str, int]:
    """Call the API as fast as the shared Redis limiter allows, for ``seconds``."""
    import redis as redis_lib

    from amo_bridge.amocrm.client import AmoClient
    from amo_bridge.amocrm.memory import MemoryTokenStore
    from amo_bridge.amocrm.oauth import long_lived_token
    from amo_bridge.clock import system_clock

    redis = redis_lib.Redis.from_url(redis_url)
    limiter = RedisRateLimiter(redis, rate=rate, prefix=prefix)
    store = MemoryTokenStore(long_lived_token(access_token, expires_at=system_clock.now()
                                              .replace(year=system_clock.now().year + 1)))
    client = AmoClient(base_url=base_url, tokens=store, limiter=limiter,
                       account_key=str(amocrm_id), session=make_session(timeout=5))
    counts = {"ok": 0, "rate_limited": 0, "blocked": 0, "other": 0}
    barrier.wait(timeout=60)
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            try:
                client.account()
                counts["ok"] += 1
            except RateLimited as exc:
                counts["rate_limited"] += 1
                time.sleep(min(exc.retry_after, max(0.0, deadline - time.monotonic())))
            except AmoError as exc:
                counts["blocked" if "block" in str(exc).lower() else "other"] += 1
                break
    finally:
        redis.close()
    return counts
