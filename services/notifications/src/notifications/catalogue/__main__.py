"""`python -m notifications.catalogue [path]` rewrites the committed AsyncAPI document."""

import sys
from pathlib import Path

from notifications.catalogue import asyncapi_yaml

DEFAULT = Path(__file__).resolve().parents[5] / "docs" / "asyncapi.yaml"

if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    target.write_text(asyncapi_yaml(), encoding="utf-8")
    print(f"wrote {target}")
