"""Where the platform keeps local state (dev keys, embedded server data)."""

import os
from pathlib import Path


def data_dir() -> Path:
    """The `.data/` folder: `GUANHUAI_DATA_DIR`, else `.data` under the current directory."""
    path = Path(os.environ.get("GUANHUAI_DATA_DIR", Path.cwd() / ".data"))
    path.mkdir(parents=True, exist_ok=True)
    return path
