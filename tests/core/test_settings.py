from pathlib import Path

import pytest

from amo_bridge.settings import VARIABLES, SettingsError, describe, load_settings


def test_embedded_defaults(tmp_path: Path):
    settings = load_settings({"INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'amo_bridge.sqlite3'}"
    assert settings.redis_url is None
    assert settings.effective_job_mode == "thread"
    assert settings.amocrm_rate_per_second == 5.0


def test_redis_switches_jobs_to_rq():
    settings = load_settings({"REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert settings.effective_job_mode == "rq"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgres://u:p@db/x", "postgresql+psycopg://u:p@db/x"),
        ("postgresql://u@db/x", "postgresql+psycopg://u@db/x"),
        ("postgresql+psycopg://u@db:5433/x", "postgresql+psycopg://u@db:5433/x"),
        ("sqlite:////var/lib/x.db", "sqlite:////var/lib/x.db"),
    ],
)
def test_database_url_spellings(raw: str, expected: str):
    assert load_settings({"DATABASE_URL": raw}).database_url == expected


@pytest.mark.parametrize(
    ("env", "variable", "fragment"),
    [
        ({"DATABASE_URL": "mysql://root@localhost/x"}, "DATABASE_URL", "postgresql:// or sqlite://"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL", "not a database URL"),
        ({"REDIS_URL": "http://x"}, "REDIS_URL", "redis://"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL", "one of DEBUG"),
        ({"AMO_BRIDGE_ENV": "staging"}, "AMO_BRIDGE_ENV", "one of development"),
        ({"AMOCRM_RATE_PER_SECOND": "8"}, "AMOCRM_RATE_PER_SECOND", "at most 7"),
        ({"AMOCRM_RATE_PER_SECOND": "fast"}, "AMOCRM_RATE_PER_SECOND", "requests per second"),
        ({"WEBHOOK_MAX_BODY_BYTES": "-1"}, "WEBHOOK_MAX_BODY_BYTES", "positive"),
        ({"PUBLIC_URL": "bridge.local"}, "PUBLIC_URL", "http(s) URL"),
        ({"AMO_BRIDGE_ENV": "production"}, "SECRET_KEY", "required"),
        ({"JOB_MODE": "rq"}, "JOB_MODE", "REDIS_URL"),
    ],
)
def test_bad_values_name_the_variable(env, variable, fragment):
    with pytest.raises(SettingsError) as info:
        load_settings(env)
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ")
    assert fragment in str(info.value)


def test_blank_values_count_as_unset():
    assert load_settings({"REDIS_URL": "  "}).redis_url is None


def test_settings_are_frozen():
    settings = load_settings({})
    with pytest.raises(AttributeError):
        settings.redis_url = "redis://x"  # type: ignore[misc]


def test_describe_masks_secrets():
    shown = describe(
        load_settings(
            {
                "DATABASE_URL": "postgresql://u:hunter2@db/x",
                "SECRET_KEY": "s3cret",
                "AMOCRM_CLIENT_SECRET": "abc",
            }
        )
    )
    text = " ".join(shown.values())
    assert "hunter2" not in text and "s3cret" not in text and "abc" not in text
    assert shown["secret_key"] == "set"


def test_env_example_lists_every_variable():
    example = (Path(__file__).resolve().parents[2] / "config" / ".env.example").read_text()
    for variable in VARIABLES:
        assert f"{variable}=" in example, f"{variable} missing from config/.env.example"
