"""`guanhuai token` / `make token` mint only what the services accept, and set the subject."""

import os
import stat
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carekit.auth.keys import ensure_dev_keys
from carekit.auth.tokens import TokenVerifier
from carekit.cli import app

REPO = Path(__file__).resolve().parents[3]


def verify(token: str):  # noqa: ANN201
    verifier = TokenVerifier(audience="guanhuai", issuer="guanhuai", public_key_files=[ensure_dev_keys()[1]])
    return verifier.verify(token)


def mint(*args: str):  # noqa: ANN201
    return CliRunner().invoke(app, ["token", *args])


@pytest.mark.parametrize(("args", "words"), [
    (["--role", "partner"], "agency"),
    (["--role", "partner", "--agency", "hospital-1"], "remit"),
    (["--role", "partner", "--agency", "hospital-1", "--region", "360702001"], "remit"),
    (["--role", "caseworker", "--region", "3607021"], "division code"),
    (["--role", "caseworker,wizard", "--region", "360702"], "unknown roles: wizard"),
    (["--role", ",", "--region", "360702"], "roles"),
    (["--role", "caseworker", "--region", "360702", "--sub", ""], "subject"),
])
def test_refuses_what_the_services_refuse_with_exit_code_2(args, words) -> None:
    result = mint(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert words in result.stderr and "错误" in result.stderr


def test_refuses_a_lifetime_that_is_already_over() -> None:
    assert mint("--role", "caseworker", "--region", "360702", "--ttl", "-5").exit_code == 2


def test_a_partner_token_with_agency_and_remit_is_accepted() -> None:
    result = mint("--role", "partner", "--agency", "hospital-1", "--region", "3607", "--sub", "hospital-1")
    assert result.exit_code == 0, result.output
    principal = verify(result.stdout.strip())
    assert (principal.sub, principal.roles, principal.agency, principal.region) == (
        "hospital-1", {"partner"}, "hospital-1", "3607")


def test_sub_roles_and_scopes() -> None:
    person = "0b8f7d2c-56a4-4c1e-9a57-1f1e0c3b9d11"
    citizen = verify(mint("--role", "citizen", "--sub", person).stdout.strip())
    assert (citizen.sub, citizen.roles) == (person, {"citizen"})
    staff = mint("--role", "caseworker,approver", "--region", "360702", "--sub", "checker-2",
                 "--scope", "pii:read x:y")
    principal = verify(staff.stdout.strip())
    assert (principal.sub, principal.roles, principal.scopes) == (
        "checker-2", {"caseworker", "approver"}, {"pii:read", "x:y"})


def test_staff_without_a_region_get_a_note() -> None:
    result = mint("--role", "caseworker")
    assert result.exit_code == 0 and verify(result.stdout.strip()).region is None
    assert "--region" in result.stderr


@pytest.fixture
def fake_uv(tmp_path: Path) -> Path:
    """`uv` for the Makefile: `sync` does nothing, `run --frozen X …` runs this checkout's X."""
    uv = tmp_path / "uv"
    uv.write_text(f'#!/bin/sh\n[ "$1" = sync ] && exit 0\nshift 2\nexec "{REPO}/.venv/bin/$@"\n')
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    return uv


def make_token(fake_uv: Path, *variables: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GUANHUAI_DATA_DIR": os.environ["GUANHUAI_DATA_DIR"]}
    return subprocess.run(["make", "-s", "--no-print-directory", "-C", str(REPO), "token", f"UV={fake_uv}", *variables],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


def test_make_token_passes_sub_role_region_agency_and_scope(fake_uv) -> None:
    done = make_token(fake_uv, "ROLE=partner,citizen", "REGION=3607", "AGENCY=civil affairs", "SUB=p-1",
                      "SCOPE=pii:read x:y")
    assert done.returncode == 0, done.stderr
    principal = verify(done.stdout.strip())
    assert (principal.sub, principal.roles, principal.region, principal.agency, principal.scopes) == (
        "p-1", {"partner", "citizen"}, "3607", "civil affairs", {"pii:read", "x:y"})


def test_make_token_refuses_a_partner_without_agency(fake_uv) -> None:
    done = make_token(fake_uv, "ROLE=partner", "REGION=360702")
    assert done.returncode != 0 and done.stdout == ""
    assert "agency" in done.stderr
