from carekit.auth.principal import Principal, Role, ensure_in_jurisdiction
from carekit.auth.tokens import TokenIssuer, TokenVerifier

__all__ = ["Principal", "Role", "TokenIssuer", "TokenVerifier", "ensure_in_jurisdiction"]
