"""Running schemathesis against a running service and reading what it found.

The services run in the test's own event loop, so schemathesis (a blocking client) runs in a subprocess
that the test awaits; its JUnit report says, per operation, which checks failed and how to reproduce it.
"""

import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")

# Every check of schemathesis 4.32 that judges one response against the contract (`-c all` minus none,
# spelled out so that an upgrade adding a check does not silently change what CI asks for).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
)
SEED = 20261208
MAX_EXAMPLES = 10


@dataclass(frozen=True)
class Failure:
    service: str
    operation: str  # "GET /v1/persons/{person_id}"
    checks: tuple[str, ...]  # ("ST101 Server error", ...)
    status: str  # "500"
    detail: str  # the check's explanation and the response, as schemathesis printed them
    curl: str

    @property
    def server_error(self) -> bool:
        return self.status.startswith("5")

    def describe(self) -> str:
        return f"{self.service} {self.operation}: {', '.join(self.checks)} (HTTP {self.status})\n    {self.curl}"


def command(schema: Path, url: str, headers: dict[str, str], report_dir: Path, config: Path | None = None,
            max_examples: int = MAX_EXAMPLES, seed: int = SEED) -> list[str]:
    cmd = [str(SCHEMATHESIS)]
    if config is not None:
        cmd += ["--config-file", str(config)]
    cmd += ["run", str(schema), "--url", url, "--checks", ",".join(CHECKS), "--max-examples", str(max_examples),
            "--seed", str(seed), "--workers", "1", "--generation-database", "none", "--no-color",
            "--output-truncate", "false", "--report", "junit,ndjson", "--report-dir", str(report_dir),
            "--report-junit-path", str(report_dir / "junit.xml"),
            "--report-ndjson-path", str(report_dir / "events.ndjson")]
    for name, value in headers.items():
        cmd += ["--header", f"{name}: {value}"]
    return cmd


_CASE = re.compile(r"^\d+\. Test Case ID: \S+$", re.M)
_CHECK = re.compile(r"^- (ST\d+ .+)$", re.M)
_STATUS = re.compile(r"^\[(\d{3})\] ", re.M)
_CURL = re.compile(r"^\s*(curl .+)$", re.M)


def failures(service: str, junit: Path) -> list[Failure]:
    """One Failure per failing test case of the JUnit report (an operation may have several)."""
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for failure in case.findall("failure"):
            text = failure.text or ""
            starts = [m.start() for m in _CASE.finditer(text)] or [0]
            for begin, end in zip(starts, [*starts[1:], len(text)], strict=True):
                found.append(_failure(service, case.get("name", "?"), text[begin:end]))
        for error in case.findall("error"):  # an operation schemathesis could not test (e.g. a failed health check)
            text = (error.get("message") or "") + "\n" + (error.text or "")
            found.append(Failure(service, case.get("name", "?"), ("schemathesis could not test it",), "-",
                                 text.strip(), "(no request: " + text.strip().splitlines()[0][:200] + ")"))
    return found


def _failure(service: str, operation: str, text: str) -> Failure:
    status = _STATUS.search(text)
    curl = _CURL.search(text)
    return Failure(
        service=service,
        operation=operation,
        checks=tuple(m.group(1).strip() for m in _CHECK.finditer(text)),
        status=status.group(1) if status else "?",
        detail=text.strip(),
        curl=curl.group(1).strip() if curl else "(no reproduction given)",
    )


def requests_made(ndjson: Path) -> int:
    """How many requests the run sent (the interactions recorded in its events)."""
    import json

    count = 0
    for line in ndjson.read_text().splitlines():
        event = json.loads(line)
        recorder = event.get("ScenarioFinished", {}).get("recorder", {})
        count += len(recorder.get("interactions", {}))
    return count
