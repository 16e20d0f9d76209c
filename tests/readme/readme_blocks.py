"""The README's shell blocks, each labelled by the HTML comment just above it (invisible when rendered):

    <!-- readme-test: offline -->          run by tests/readme, no running stack needed
    <!-- readme-test: stack -->            run by tests/stack against a running `make run`
    <!-- readme-test: manual (reason) -->  never run by a test; the reason says why

Blocks run as written with bash, from the repository root, with two substitutions: `.data/` becomes the
test's data folder, and the default ports of the services and simulators become the ports of the test's
stack (which never uses a developer's 8001-8004)."""

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from carekit.devstack.catalogue import SERVICES, SIMULATORS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
LABEL = re.compile(r"<!-- readme-test: (offline|stack|manual)\b[^>]*-->")
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
# curl fails on HTTP errors (the README shows plain `curl` for readability)
PRELUDE = 'set -euo pipefail\ncurl() { command curl --silent --show-error --fail-with-body "$@"; echo; }\n'


@dataclass(frozen=True)
class ShellBlock:
    kind: str  # offline, stack, manual
    text: str
    line: int  # where it starts in README.md

    def commands(self) -> list[str]:
        lines = [line.strip() for line in self.text.splitlines()]
        return [line.split("  #", 1)[0].strip() for line in lines if line and not line.startswith("#")]

    def run(self, data_dir: Path, ports: dict[int, int] | None = None, timeout: float = 300) -> str:
        """Run it with bash; returns its output, raises AssertionError with the output if it fails."""
        script = localised(self.text, data_dir, ports or {})
        env = {**os.environ, "GUANHUAI_DATA_DIR": str(data_dir)}
        done = subprocess.run(
            ["bash", "-c", PRELUDE + script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
        )
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"README.md line {self.line} failed ({done.returncode}):\n{script}\n{output}"
        return output


def shell_blocks(text: str | None = None) -> list[ShellBlock]:
    """Every ```sh block of the README, with the label just above it ("" if it has none)."""
    text = README.read_text(encoding="utf-8") if text is None else text
    blocks = []
    for match in BLOCK.finditer(text):
        if match.group(1) not in ("sh", "bash", "shell", "console"):
            continue
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        label = LABEL.fullmatch(before.strip())
        line = text.count("\n", 0, match.start()) + 1
        blocks.append(ShellBlock(label.group(1) if label else "", match.group(2), line))
    return blocks


def default_ports() -> dict[str, int]:
    return {spec.name: spec.default_port for spec in (*SERVICES, *SIMULATORS)}


def localised(script: str, data_dir: Path, ports: dict[int, int]) -> str:
    script = re.sub(r"(?<![\w/])\.data/", f"{data_dir}/", script)
    for default, actual in ports.items():
        script = re.sub(rf"\b(127\.0\.0\.1|localhost):{default}\b", rf"\g<1>:{actual}", script)
    return script
