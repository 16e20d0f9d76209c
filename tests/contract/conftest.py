"""The four services on real loopback ports (the e2e platform, simulators included) for the contract tests:
the jurisdiction matrix and the schemathesis run, both generated from the committed OpenAPI documents."""

import importlib.util
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))  # helpers beside the tests (openapi_ops.py, world.py)


def _e2e_conftest():  # noqa: ANN202 - a module
    """tests/e2e/conftest.py, loaded by path under its own name (it is not a package)."""
    name = "guanhuai_e2e_platform"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HERE.parent / "e2e" / "conftest.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


start_platform = _e2e_conftest().start_platform


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def platform(migrated_database, nats_url, fresh_streams) -> AsyncIterator[object]:
    async with start_platform(migrated_database, nats_url) as started:
        yield started
