"""gunicorn settings for the web process.

``gunicorn -c config/gunicorn.conf.py amo_bridge.wsgi:app``.

Read by path, not imported by the package. Every value can be overridden from the environment
with gunicorn's own ``GUNICORN_CMD_ARGS`` or the variables below.
"""

import multiprocessing
import os

from gunicorn.glogging import Logger

from amo_bridge.logs import redact

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# gthread workers: the webhook door does short database work per request, never an API call.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
threads = int(os.environ.get("WEB_THREADS", "8"))
# amoCRM gives up after 2 s; anything slower than this is a bug worth a loud timeout.
timeout = 30
graceful_timeout = 20
keepalive = 5
# Recycle workers now and then (a slow leak in a dependency stays bounded) — but rarely: a new
# worker imports the whole app, about a second of CPU, and at webhook-burst rates a small
# limit would restart every worker each few seconds.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "100000"))
max_requests_jitter = max_requests // 10
# The app creates its database pool and (embedded mode) its worker thread per process.
preload_app = False
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms "%(a)s"'


class RedactingLogger(Logger):
    """The webhook URL carries the account's secret: redact it (and phones) in access logs."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r", "q", "f"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms


logger_class = RedactingLogger
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
