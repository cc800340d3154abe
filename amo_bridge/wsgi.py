"""The WSGI entry point.

``gunicorn -c config/gunicorn.conf.py amo_bridge.wsgi:app``
"""

from amo_bridge.app import create_app

app = create_app()
