import sys
from pathlib import Path

# Test helpers shared by the notifications' test folders live in `notifications_support.py` beside this file.
sys.path.insert(0, str(Path(__file__).parent))
