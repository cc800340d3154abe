"""Build the widget zip an amoCRM admin uploads (AMOCRM.md, Widgets).

The source lives in ``widget/``: ``script.js`` (the RequireJS module with amoCRM's callbacks),
its parts in ``js/`` (inlined where ``/* @@PARTS@@ */`` stands, in :data:`PARTS` order, so
amoCRM loads one file), ``templates/*.twig`` (inlined as ``AB.TEMPLATES`` and shipped too),
``manifest.json``, ``i18n/``, ``images/`` and ``style.css``. The build writes the bridge's URL
into the script and the Digital Pipeline hook's URL into the manifest.

The zip is reproducible: same sources and options, same bytes (sorted names, fixed times).
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

WIDGET_DIR = Path(__file__).resolve().parent / "widget"
#: Inlined into script.js in this order (later parts use earlier ones).
PARTS = ("util.js", "api.js", "ui.js", "charts.js", "app.js", "sms.js", "line_form.js",
         "deal.js", "phone.js", "contact.js", "dp.js", "settings.js", "dashboards.js",
         "sections_renewals.js", "sections_sms.js", "sections_money.js", "sections_admin.js")
STATIC = ("style.css", "i18n/ru.json", "i18n/en.json", "images/logo_main.png",
          "images/logo_small.png", "images/logo_medium.png", "images/logo_min.png",
          "images/logo.png")
MARKER = "/* @@PARTS@@ */"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)
MAX_IMAGE_BYTES = 300 * 1024


class BuildError(ValueError):
    """The options or the sources cannot make a widget (the message says which)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildOptions:
    backend_url: str
    #: The account's webhook secret: the Digital Pipeline hook is ``/webhooks/amocrm/<it>/dp``.
    #: Without it the zip leaves the DP action out (amoCRM would call a dead address).
    webhook_token: str | None = None

    @property
    def backend(self) -> str:
        return self.backend_url.rstrip("/")


def check_backend_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BuildError(f"--backend-url must be an http(s) URL, got {url!r}")
    if parts.query or parts.fragment:
        raise BuildError("--backend-url must not carry a query or a fragment")
    return url.strip().rstrip("/")


def manifest(options: BuildOptions) -> dict:
    data = json.loads((WIDGET_DIR / "manifest.json").read_text(encoding="utf-8"))
    if options.webhook_token:
        data["dp"]["webhook_url"] = (f"{options.backend}/webhooks/amocrm/"
                                     f"{options.webhook_token}/dp")
    else:
        data.pop("dp", None)
        data["locations"] = [loc for loc in data["locations"] if loc != "digital_pipeline"]
    return data


def templates_js() -> str:
    found = {path.stem: path.read_text(encoding="utf-8").strip()
             for path in sorted((WIDGET_DIR / "templates").glob("*.twig"))}
    return "AB.TEMPLATES = " + json.dumps(found, ensure_ascii=False, indent=2) + ";\n"


def script(options: BuildOptions, *, version: str) -> str:
    source = (WIDGET_DIR / "script.js").read_text(encoding="utf-8")
    if source.count(MARKER) != 1:
        raise BuildError(f"script.js must contain {MARKER} exactly once")
    parts = [templates_js()]
    for name in PARTS:
        text = (WIDGET_DIR / "js" / name).read_text(encoding="utf-8")
        parts.append(f"/* --- js/{name} --- */\n{text}")
    body = "\n".join(parts)
    indented = "\n".join(("  " + line) if line.strip() else "" for line in body.splitlines())
    return (source.replace(MARKER, indented.strip())
            .replace("@@BACKEND_URL@@", options.backend).replace("@@VERSION@@", version))


def build_files(options: BuildOptions) -> dict[str, bytes]:
    """Every file of the widget, by its path inside the zip."""
    data = manifest(options)
    version = data["widget"]["version"]
    files: dict[str, bytes] = {
        "manifest.json": (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode(),
        "script.js": script(options, version=version).encode(),
    }
    for name in STATIC:
        files[name] = (WIDGET_DIR / name).read_bytes()
        if name.startswith("images/") and len(files[name]) > MAX_IMAGE_BYTES:
            raise BuildError(f"{name} is larger than amoCRM's 300 KB")
    for path in sorted((WIDGET_DIR / "templates").glob("*.twig")):
        files[f"templates/{path.name}"] = path.read_bytes()
    return files


def build_zip(options: BuildOptions) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(build_files(options).items()):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return buffer.getvalue()


def write_zip(out: Path, options: BuildOptions) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(build_zip(options))
    return out
