"""The stack tests' helpers live in stack_helpers.py, the README's blocks in tests/readme/readme_blocks.py
(both put on sys.path here)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "readme"))
