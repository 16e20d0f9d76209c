from carekit.auth.claims import InvalidClaims, check_claims
from carekit.auth.principal import Principal, Role, ensure_in_jurisdiction
from carekit.auth.tokens import TokenIssuer, TokenVerifier

__all__ = ["InvalidClaims", "Principal", "Role", "TokenIssuer", "TokenVerifier", "check_claims",
           "ensure_in_jurisdiction"]
