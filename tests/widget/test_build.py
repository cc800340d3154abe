"""The widget zip: what amoCRM requires of it, built reproducibly, its texts complete."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import zipfile

import pytest
from click.testing import CliRunner
from PIL import Image

from amo_bridge.cli import main
from amo_bridge.web.widget_build import (
    PARTS,
    WIDGET_DIR,
    BuildError,
    BuildOptions,
    build_files,
    build_zip,
    check_backend_url,
)
from amo_bridge.web.widget_images import LOGOS

OPTIONS = BuildOptions(backend_url="https://bridge.example.com/", webhook_token="s3cret-token")


def _zip(options: BuildOptions = OPTIONS) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(build_zip(options)))


def test_the_zip_holds_what_amocrm_requires():
    archive = _zip()
    names = set(archive.namelist())
    assert {"manifest.json", "script.js", "i18n/ru.json", "i18n/en.json", "style.css"} <= names
    assert {f"images/{name}" for name in LOGOS} <= names
    manifest = json.loads(archive.read("manifest.json"))
    widget = manifest["widget"]
    assert widget["interface_version"] == 2 and widget["locale"] == ["ru", "en"]
    assert {"name", "description", "short_description", "version", "init_once",
            "installation", "support"} <= set(widget)
    assert manifest["locations"] == ["lcard-1", "ccard-1", "settings", "advanced_settings",
                                     "digital_pipeline"]
    assert manifest["dp"]["webhook_url"] == \
        "https://bridge.example.com/webhooks/amocrm/s3cret-token/dp"
    assert manifest["dp"]["settings"]["template"]["required"] is True
    ru = json.loads(archive.read("i18n/ru.json"))
    assert ru["dp"]["title"] == "amo-bridge: отправить SMS"
    for key in (widget["name"], widget["description"], manifest["advanced"]["title"],
                manifest["settings"]["backend_url"]["name"],
                manifest["dp"]["settings"]["template"]["name"]):
        section, name = key.split(".")
        assert ru[section][name] and json.loads(archive.read("i18n/en.json"))[section][name]


def test_logos_have_amocrms_sizes():
    archive = _zip()
    for name, size in LOGOS.items():
        content = archive.read(f"images/{name}")
        assert len(content) <= 300 * 1024
        with Image.open(io.BytesIO(content)) as image:
            assert (image.format, image.size) == ("PNG", size), name


def test_script_is_one_requirejs_module_with_the_backend_written_in():
    script = _zip().read("script.js").decode()
    assert script.startswith("/* amo-bridge widget") and "define(['jquery']" in script
    assert "BACKEND_URL: 'https://bridge.example.com'" in script
    assert "@@" not in script
    for part in PARTS:
        assert f"/* --- js/{part} --- */" in script
    checked = subprocess.run(["node", "--check", "-"], input=script, capture_output=True,
                             text=True, check=False) if _has_node() else None
    if checked is not None:
        assert checked.returncode == 0, checked.stderr


def _has_node() -> bool:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, check=False
                              ).returncode == 0
    except OSError:
        return False


def test_without_a_webhook_token_the_dp_action_is_left_out():
    manifest = json.loads(_zip(BuildOptions(backend_url="https://b.example")).read(
        "manifest.json"))
    assert "dp" not in manifest and "digital_pipeline" not in manifest["locations"]


def test_the_build_is_reproducible():
    assert build_zip(OPTIONS) == build_zip(OPTIONS)
    infos = _zip().infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}


def test_every_text_the_widget_shows_exists_in_russian_and_english():
    ru = json.loads((WIDGET_DIR / "i18n" / "ru.json").read_text())["ui"]
    en = json.loads((WIDGET_DIR / "i18n" / "en.json").read_text())["ui"]
    assert set(ru) == set(en)
    source = "\n".join((WIDGET_DIR / "js" / part).read_text() for part in PARTS)
    used = set(re.findall(r"t\('([a-z_]+\.[a-z_.]*[a-z_])'", source))
    used |= set(re.findall(r"(?:title|help|formTitle): '([a-z_]+\.[a-z_.]+)'", source))
    used |= set(re.findall(r"AB\.submit\(app, '([a-z_]+\.[a-z_.]+)'", source))
    assert used, "no keys found"
    assert not sorted(used - set(ru)), "texts missing from i18n/ru.json"
    for prefix, names in (("sms.status.", ["queued", "sending", "sent", "delivered", "failed",
                                           "unknown", "rejected", "needs_attention"]),
                          ("export.kind.", ["ledger", "payroll", "plan", "retention"]),
                          ("assignees.strategy.", ["seller", "fixed", "round_robin",
                                                   "least_loaded"])):
        assert all(prefix + n in ru for n in names), prefix
    assert all("{" not in v or "}" in v for v in ru.values())


def test_vendored_harness_assets_are_the_published_ones():
    assets = WIDGET_DIR.parent / "harness_assets"
    readme = (assets / "README.md").read_text()
    for name in ("jquery.min.js", "require.js"):
        digest = hashlib.sha256((assets / name).read_bytes()).hexdigest()
        assert digest in readme, name


@pytest.mark.parametrize("url", ["ftp://x.example", "bridge.example.com", "https://b.example/?a=1"])
def test_bad_backend_urls_are_refused(url):
    with pytest.raises(BuildError):
        check_backend_url(url)


def test_cli_builds_the_zip(tmp_path):
    out = tmp_path / "widget.zip"
    result = CliRunner().invoke(main, ["widget", "build", "--backend-url",
                                       "https://bridge.example.com", "--out", str(out),
                                       "--webhook-token", "tok"])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and out.read_bytes() == build_zip(
        BuildOptions(backend_url="https://bridge.example.com", webhook_token="tok"))
    bad = CliRunner().invoke(main, ["widget", "build", "--backend-url", "nope"])
    assert bad.exit_code == 2 and "backend-url" in bad.output and "Traceback" not in bad.output


def test_cli_prints_the_openapi_description():
    result = CliRunner().invoke(main, ["widget", "openapi"])
    assert result.exit_code == 0
    assert json.loads(result.output)["info"]["title"] == "amo-bridge widget API"


def test_build_files_match_the_sources():
    files = build_files(OPTIONS)
    assert files["style.css"] == (WIDGET_DIR / "style.css").read_bytes()
    assert files["templates/card_root.twig"] == (WIDGET_DIR / "templates" /
                                                 "card_root.twig").read_bytes()


def test_cli_mints_a_development_token_that_the_api_accepts(stack):
    from tests.widget.conftest import ADMIN, CLIENT_SECRET, REDIRECT_URI

    env = {"INSTANCE_PATH": str(stack.settings.instance_path), "AMOCRM_CLIENT_SECRET":
           CLIENT_SECRET, "AMOCRM_REDIRECT_URI": REDIRECT_URI, "DATABASE_URL": "",
           "AMO_BRIDGE_ENV": "development"}
    result = CliRunner().invoke(main, ["widget", "token", "--user", str(ADMIN)], env=env)
    assert result.exit_code == 0, result.output
    import requests

    answer = requests.get(f"{stack.bridge.url}/widget/api/context", timeout=10,
                          headers={"X-Auth-Token": result.output.strip()})
    assert answer.status_code == 200 and answer.json()["user"]["id"] == ADMIN
    refused = CliRunner().invoke(main, ["widget", "token", "--user", "1"],
                                 env={**env, "AMO_BRIDGE_ENV": "production",
                                      "SECRET_KEY": "x" * 40})
    assert refused.exit_code == 2 and "outside production" in refused.output
