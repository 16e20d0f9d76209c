"""What a token may say: one check, used by the verifier (every request) and by `guanhuai token`
(minting), so that a development token is never one the services would then refuse."""

import re
from collections.abc import Iterable
from typing import Any

from carekit.auth.principal import REGION_PATTERN, Role

# A partner agency's remit is a province, a prefecture or a county (2, 4 or 6 digits of a division
# code); its eligibility checks and reports are matched against it.
PARTNER_REMIT_PATTERN = re.compile(r"^(?:[0-9]{2}|[0-9]{4}|[0-9]{6})\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
KNOWN_ROLES = frozenset(r.value for r in Role)
# Every service records the acting subject (maker, checker, actor) in columns of this width.
MAX_SUB_LENGTH = 128


class InvalidClaims(Exception):
    def __init__(self, detail: str, detail_zh: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_zh = detail_zh


def check_claims(*, sub: Any, roles: Any, region: Any = None, agency: Any = None,
                 scopes: Iterable[str] = ()) -> None:
    """Raise `InvalidClaims` (English and Chinese) unless these claims make a token the services accept."""
    _check_sub(sub)
    _check_roles(roles)
    if region is not None and not (isinstance(region, str) and REGION_PATTERN.match(region)):
        raise InvalidClaims("The token's region must be a 2, 4, 6, 9 or 12-digit division code prefix.",
                            "令牌中的辖区必须是 2、4、6、9 或 12 位区划代码前缀。")
    if agency is not None and not (isinstance(agency, str) and agency.strip() and not _CONTROL.search(agency)):
        raise InvalidClaims("The token's agency must be a non-empty string.", "令牌中的机构必须是非空字符串。")
    if Role.PARTNER in roles:
        _check_partner(region, agency)
    for scope in scopes:
        if not scope or any(c.isspace() for c in scope):
            raise InvalidClaims(f"A permission (scope) may not be empty or hold spaces: {scope!r}.",
                                "权限（scope）不能为空，也不能包含空格。")


def _check_sub(sub: Any) -> None:
    if not isinstance(sub, str) or not sub.strip() or _CONTROL.search(sub):
        raise InvalidClaims("The token's subject (sub) must be a non-empty string without control characters.",
                            "令牌的主体（sub）必须是不含控制字符的非空字符串。")
    if len(sub) > MAX_SUB_LENGTH:
        raise InvalidClaims(f"The token's subject (sub) may be at most {MAX_SUB_LENGTH} characters long.",
                            f"令牌的主体（sub）最长 {MAX_SUB_LENGTH} 个字符。")


def _check_roles(roles: Any) -> None:
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise InvalidClaims("The token has no list of roles.", "令牌缺少角色列表。")
    unknown = sorted(set(roles) - KNOWN_ROLES)
    if unknown:
        raise InvalidClaims(
            f"The token names unknown roles: {', '.join(unknown)}. Known roles: {', '.join(sorted(KNOWN_ROLES))}.",
            f"令牌包含未知角色：{', '.join(unknown)}。可用角色：{', '.join(sorted(KNOWN_ROLES))}。",
        )


def _check_partner(region: Any, agency: Any) -> None:
    if not agency:
        raise InvalidClaims("A partner token must name its agency (the `agency` claim).",
                            "合作机构令牌必须注明机构（agency）。")
    if not (isinstance(region, str) and PARTNER_REMIT_PATTERN.match(region)):
        raise InvalidClaims(
            "A partner token must carry its agency's remit as its region: a province, prefecture or county "
            "(a 2, 4 or 6-digit division code prefix).",
            "合作机构令牌必须以辖区（region）注明机构的服务范围：省、市或县（2、4 或 6 位区划代码前缀）。",
        )
