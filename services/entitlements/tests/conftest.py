import sys
from pathlib import Path

# Test helpers shared by the entitlements' test folders live in `entitlements_support.py` beside this file.
sys.path.insert(0, str(Path(__file__).parent))
