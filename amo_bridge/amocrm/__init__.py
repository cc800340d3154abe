"""The amoCRM API client library (and, beside it, amoCRM's wire formats).

A library in the strict sense: no Flask, RQ or SQLAlchemy here. Everything it depends on is
passed in — HTTP session, token store, rate limiter, write recorder, alert port, clock — and it
returns frozen dataclasses and raises typed errors that say whether a retry helps.
"""

from amo_bridge.amocrm.client import AmoClient
from amo_bridge.amocrm.errors import (
    AccountBlocked,
    AmoError,
    ApiError,
    FieldError,
    Forbidden,
    IntegrationDisabled,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
)
from amo_bridge.amocrm.http import base_url_for, make_session
from amo_bridge.amocrm.oauth import (
    OAuthCredentials,
    TokenManager,
    TokenPair,
    TokenStore,
    exchange_code,
    long_lived_token,
    verify_disable_hook,
)
from amo_bridge.amocrm.ratelimit import LocalRateLimiter, RateLimiter
from amo_bridge.amocrm.ratelimit_redis import RedisRateLimiter
from amo_bridge.amocrm.transport import AccountAlert, RetryPolicy
from amo_bridge.amocrm.writes import BatchResult, WriteRecord, WriteRecorder

__all__ = [
    "AccountAlert", "AccountBlocked", "AmoClient", "AmoError", "ApiError", "BatchResult",
    "FieldError", "Forbidden", "IntegrationDisabled", "LocalRateLimiter", "OAuthCredentials",
    "OutcomeUnknown", "RateLimited", "RateLimiter", "RedisRateLimiter", "RetryPolicy",
    "TokenManager", "TokenPair", "TokenStore", "Unavailable", "WriteRecord", "WriteRecorder",
    "base_url_for", "exchange_code", "long_lived_token", "make_session", "verify_disable_hook",
]
