"""``amo-bridge sms …`` commands."""

from __future__ import annotations

from click.testing import CliRunner

from amo_bridge.cli import main
from sms.callbacks import callback_token


def test_preview_prints_the_sample_and_its_segments(tmp_path):
    template = tmp_path / "reminder.j2"
    template.write_text("{{ client_io }}, ваш полис {{ product }} заканчивается {{ end_date }}. "
                        "Продлить его вы можете у своего менеджера: {{ manager_name }}, "
                        "{{ manager_phone }}", encoding="utf-8")
    result = CliRunner().invoke(main, ["sms", "preview", str(template)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == ("Анна Петровна, ваш полис КАСКО заканчивается 15.03.2027. Продлить его "
                        "вы можете у своего менеджера: Дмитрий, +7 999 123-45-67")
    assert lines[-1] == "125 characters, UCS-2: 2 SMS (125 units, 67 per part)"


def test_preview_refuses_a_sandbox_escape_in_one_line(tmp_path):
    template = tmp_path / "bad.j2"
    template.write_text("{{ code.__class__ }}", encoding="utf-8")
    result = CliRunner().invoke(main, ["sms", "preview", str(template), "--lang", "en"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "“.__class__” is not available" in result.output


def test_preview_reports_a_missing_value(tmp_path):
    template = tmp_path / "t.j2"
    template.write_text("{{ manager_phone }}", encoding="utf-8")
    result = CliRunner().invoke(main, ["sms", "preview", str(template),
                                       "--set", "manager_phone="])
    assert result.exit_code == 2 and "no value for manager_phone" in result.output


def test_segments_and_callback_url():
    assert CliRunner().invoke(main, ["sms", "segments", "hello"]).output.strip() == \
        "GSM-7: 1 SMS (5 units, 160 per part)"
    result = CliRunner().invoke(main, ["sms", "callback-url", "smsru"], env={
        "SECRET_KEY": "abc", "PUBLIC_URL": "https://bridge.example.com"})
    assert result.output.strip() == \
        f"https://bridge.example.com/webhooks/sms/smsru/{callback_token(b'abc', 'smsru')}"
