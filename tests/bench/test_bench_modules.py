"""The benchmarks import each other (bench/annual_cycle.py reuses the entitlements and registry benches
and the load generator) with bench/ off the import path: each module must import that way too."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("module", ["bench.loadgen", "bench.processes", "bench.registry_floor",
                                    "bench.registry_import", "bench.entitlements_batch", "bench.relief_disbursement",
                                    "bench.annual.baselines", "bench.annual.stack"])
def test_a_bench_module_imports_as_part_of_the_bench_package(module: str) -> None:
    code = f"import sys; sys.path[:] = [p for p in sys.path if not p.endswith('bench')]; " \
           f"sys.path.insert(0, {str(ROOT)!r}); import importlib; importlib.import_module({module!r})"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("script", ["registry_import", "entitlements_batch"])
def test_a_bench_script_runs_from_its_folder(script: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{script}.py"), "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]

