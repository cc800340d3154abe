"""A local amoCRM: the documented v4 API subset, OAuth, limits and old-format webhooks.

Integrators use it to try the bridge without a live account; the demo, the tests and the
benchmarks run against it. Fidelity is measured against ``AMOCRM.md``. See README.md.
"""

from __future__ import annotations

from .app import create_app
from .config import FaultRule, LimitSettings, SimulatorConfig
from .seed import DEFAULT_SEED
from .server import RunningServer, run_in_thread, serve
from .state import Simulator

__all__ = [
    "DEFAULT_SEED",
    "FaultRule",
    "LimitSettings",
    "RunningServer",
    "Simulator",
    "SimulatorConfig",
    "create_app",
    "run_in_thread",
    "serve",
]
