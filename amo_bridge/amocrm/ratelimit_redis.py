"""The shared limiter: GCRA in one Lua script, atomic in Redis, keyed per account.

Time comes from Redis (``TIME``) so processes on different machines agree on the schedule.
Keys (``{prefix}:{<key>}:…`` share a hash tag, so the script also runs on a cluster):
``tat`` (theoretical arrival time, µs), ``cool`` (end of the 429 cool-down, µs), ``strikes``
(429s in the last minute, for escalation), ``block`` (open circuit's reason).
"""

from __future__ import annotations

from typing import Any

from amo_bridge.amocrm.ratelimit import (
    DEFAULT_RATE,
    MAX_COOL_DOWN,
    SLOWDOWN_PER_STRIKE,
    STRIKE_WINDOW,
    Permit,
    check_rate,
)

_RESERVE = """
local block = redis.call('GET', KEYS[3])
if block then return {2, '0', block} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local strikes = tonumber(redis.call('GET', KEYS[4]) or '0')
local interval = tonumber(ARGV[1]) * (1 + tonumber(ARGV[4]) * strikes)
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local cool = tonumber(redis.call('GET', KEYS[2]) or '0')
local slot = math.max(now, tat - tolerance, cool)
local wait = slot - now
if wait > max_wait then return {0, string.format('%.0f', wait), ''} end
local new_tat = math.max(tat, slot) + interval
local ttl_ms = math.ceil((new_tat - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', ttl_ms)
return {1, string.format('%.0f', wait), ''}
"""

_COOL_DOWN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local strikes = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local pause = math.min(tonumber(ARGV[1]) * math.pow(2, strikes - 1), tonumber(ARGV[2]))
local untl = now + pause
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then
  redis.call('SET', KEYS[1], string.format('%.0f', untl), 'PX', math.ceil(pause / 1000) + 1)
  return string.format('%.0f', pause)
end
return string.format('%.0f', current - now)
"""

_COOLING = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untl = tonumber(redis.call('GET', KEYS[1]) or '0')
return string.format('%.0f', math.max(0, untl - now))
"""


class RedisRateLimiter:
    """Limiter shared by every process that talks to the same Redis."""

    def __init__(
        self,
        redis: Any,
        *,
        rate: float = DEFAULT_RATE,
        burst: int = 1,
        prefix: str = "amo-bridge:amocrm",
    ) -> None:
        check_rate(rate, burst)
        self.rate = rate
        self._redis = redis
        self._prefix = prefix
        self._interval_us = int(1_000_000 / rate)
        self._tolerance_us = (burst - 1) * self._interval_us
        self._reserve = redis.register_script(_RESERVE)
        self._cool_down = redis.register_script(_COOL_DOWN)
        self._cooling = redis.register_script(_COOLING)

    def _keys(self, key: str) -> list[str]:
        base = f"{self._prefix}:{{{key}}}"
        return [f"{base}:tat", f"{base}:cool", f"{base}:block", f"{base}:strikes"]

    def reserve(self, key: str, *, max_wait: float) -> Permit:
        status, wait_us, reason = self._reserve(
            keys=self._keys(key),
            args=[self._interval_us, self._tolerance_us, int(max_wait * 1_000_000),
                  SLOWDOWN_PER_STRIKE],
        )
        wait = int(wait_us) / 1_000_000
        if int(status) == 2:
            text = reason.decode() if isinstance(reason, bytes) else str(reason)
            return Permit(granted=False, wait=0.0, blocked=text or "blocked")
        return Permit(granted=int(status) == 1, wait=wait)

    def cool_down(self, key: str, seconds: float) -> float:
        keys = self._keys(key)
        pause_us = self._cool_down(
            keys=[keys[1], keys[3]],
            args=[int(seconds * 1_000_000), int(MAX_COOL_DOWN * 1_000_000),
                  int(STRIKE_WINDOW * 1000)],
        )
        return int(pause_us) / 1_000_000

    def cooling(self, key: str) -> float:
        return int(self._cooling(keys=[self._keys(key)[1]])) / 1_000_000

    def open_circuit(self, key: str, reason: str, *, ttl: float | None = None) -> None:
        px = None if ttl is None else max(1, int(ttl * 1000))
        self._redis.set(self._keys(key)[2], reason or "blocked", px=px)

    def close_circuit(self, key: str) -> None:
        self._redis.delete(self._keys(key)[2])

    def circuit(self, key: str) -> str | None:
        value = self._redis.get(self._keys(key)[2])
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def forget(self, key: str) -> None:
        """Drop every key of ``key`` (tests, account removal)."""
        self._redis.delete(*self._keys(key))
