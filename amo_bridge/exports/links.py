"""Short-lived signed download links for export files.

The widget cannot attach its JWT to a browser download, so the link itself is the credential:
the export id and account id signed with the app's ``SECRET_KEY`` (itsdangerous, HMAC-SHA1
with a purpose-specific salt) and a timestamp taken from the injected clock. It is valid for
:data:`LINK_SECONDS`; the status endpoint hands out a fresh one whenever it is asked.
"""

from __future__ import annotations

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from amo_bridge.clock import Clock

LINK_SECONDS = 300
SALT = "amo-bridge.export-download"


class LinkError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "expired" or "invalid"


def _serializer(secret: str, clock: Clock) -> URLSafeTimedSerializer:
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return URLSafeTimedSerializer(secret, salt=SALT, signer=ClockSigner)


def sign_download(secret: str, *, export_id: int, account_id: int, clock: Clock) -> str:
    return _serializer(secret, clock).dumps({"e": export_id, "a": account_id})


def read_download(
    secret: str, token: str, *, clock: Clock, max_age: int = LINK_SECONDS
) -> tuple[int, int]:
    """``(export_id, account_id)`` from a token, or :class:`LinkError`."""
    try:
        payload = _serializer(secret, clock).loads(token, max_age=max_age)
    except SignatureExpired:
        raise LinkError("expired") from None
    except BadSignature:
        raise LinkError("invalid") from None
    try:
        return int(payload["e"]), int(payload["a"])
    except (KeyError, TypeError, ValueError):
        raise LinkError("invalid") from None
