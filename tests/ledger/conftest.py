import pytest

from amo_bridge.devstack import local_stack
from amo_bridge.settings import load_settings


@pytest.fixture
def stack(migrated_url, tmp_path):
    settings = load_settings({"DATABASE_URL": migrated_url, "INSTANCE_PATH": str(tmp_path),
                              "JOB_MODE": "thread"})
    with local_stack(settings) as running:
        yield running
