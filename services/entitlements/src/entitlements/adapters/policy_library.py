"""The policy library shipped as YAML under `services/entitlements/policies/`: load and validate it.

Each `*.yaml` file holds one policy version in the shape `entitlements.domain.policy.policy_from_dict`
reads (plus a free-form `sources` list for the legal documents). `load_library` refuses the whole library
on the first bad file, naming the file, the field and — for an expression — the line and column in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from entitlements.domain.errors import PolicyError
from entitlements.domain.policy import CheckedPolicy, check_policy, overlaps, policy_from_dict

LIBRARY_DIR = Path(__file__).resolve().parents[3] / "policies"


@dataclass(frozen=True)
class LibraryError(Exception):
    file: str
    error: PolicyError

    def __str__(self) -> str:
        return f"{self.file}: {self.error}"


def load_policy_file(path: Path) -> CheckedPolicy:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise LibraryError(path.name, PolicyError("", f"Not valid YAML: {exc}", "不是有效的 YAML。")) from None
    try:
        return check_policy(policy_from_dict(data))
    except PolicyError as exc:
        raise LibraryError(path.name, exc) from None


def load_library(directory: Path = LIBRARY_DIR) -> list[CheckedPolicy]:
    """Every policy of the library, validated; codes are unique per jurisdiction and never overlap."""
    checked = [load_policy_file(path) for path in sorted(directory.glob("*.yaml"))]
    for i, a in enumerate(checked):
        for b in checked[i + 1:]:
            if overlaps(a.policy, b.policy):
                raise LibraryError(b.policy.code, PolicyError(
                    "effective_from", f"Overlaps another version of {b.policy.code} for the same jurisdiction.",
                    f"与 {b.policy.code} 在同一地区的另一版本生效期重叠。"))
    return checked
