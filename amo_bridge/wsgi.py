"""The WSGI entry point for gunicorn: ``gunicorn -c config/gunicorn.conf.py amo_bridge.wsgi:app``."""

from amo_bridge.app import create_app

app = create_app()
