import sys
from pathlib import Path

# Test helpers shared by the relief's test folders live in `relief_support.py` beside this file.
sys.path.insert(0, str(Path(__file__).parent))

from relief_support import registry_people, relief, relief_and_registry  # noqa: E402, F401 - shared fixtures
