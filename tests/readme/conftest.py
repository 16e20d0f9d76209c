"""The README tests' helpers live in readme_blocks.py (put on sys.path here)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
