import sys
from pathlib import Path

# `kitapp` is a tiny service built on the kit, used to test the kit's behaviour end to end.
sys.path.insert(0, str(Path(__file__).parent))
