import json
import logging

from amo_bridge.logs import JsonFormatter, RedactingFilter, redact, request_id_var
from amo_bridge.phones import mask_phones


def test_phones_are_masked():
    text = "client +7 (999) 123-45-67 and 89161234567, order 12345"
    assert mask_phones(text) == "client +7999***4567 and 8916***4567, order 12345"


def test_secrets_are_redacted():
    text = (
        "Authorization: Bearer eyJhbGciOi.x.y refresh_token=def502 "
        '{"access_token": "abc"} POST /webhooks/amocrm/Zx9kq/dp'
    )
    out = redact(text)
    for secret in ("eyJhbGciOi", "def502", "abc", "Zx9kq"):
        assert secret not in out
    assert "/webhooks/amocrm/[redacted]/dp" in out


def test_redaction_ignores_case_and_leaves_plain_lines_alone():
    out = redact("BEARER Tok3n PASSWORD=hunter2 Client_Secret: 's3cr3t' ſecret_key=x1")
    for secret in ("Tok3n", "hunter2", "s3cr3t", "x1"):
        assert secret not in out
    plain = '127.0.0.1 "POST /widget/api/deals/5/policies" 201 17 4ms "Mozilla/5.0"'
    assert redact(plain) == plain


def test_json_records_carry_request_id_and_redacted_extras():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "sent to %s", ("+79991234567",),
                               None)
    record.client_secret = "s3"
    record.phone = "+79991234567"
    token = request_id_var.set("req-1")
    try:
        RedactingFilter().filter(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "sent to +7999***4567"
    assert entry["client_secret"] == "[redacted]"
    assert entry["phone"] == "+7999***4567"
    assert entry["request_id"] == "req-1"


def test_dates_are_not_mistaken_for_phones():
    text = "2026-11-21 23:58:53,634 ERROR at 21.11.2026 12:00 for +7 999 123-45-67"
    assert mask_phones(text) == "2026-11-21 23:58:53,634 ERROR at 21.11.2026 12:00 for +7999***4567"
