import sys
from pathlib import Path

# Test helpers shared by the registry's test folders live in `registry_support.py` beside this file.
sys.path.insert(0, str(Path(__file__).parent))

from registry_support import caseworker, family, registry  # noqa: E402, F401 - shared fixtures
