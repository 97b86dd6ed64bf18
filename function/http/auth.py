"""Who is calling, decided once per request from what API Gateway's authorizer wrote into the event.

API Gateway checks the SigV4 signature (iam) or the JWT (jwt) before the function runs, and puts
the result in `requestContext`, which a caller cannot set. The function trusts only that, and
fails closed: in iam or jwt mode a request without it is refused, so a stack deployed without
its authorizer lets no one in rather than everyone. What each caller may then touch is a key
rule (function/bucket/keys.py): a JWT caller is confined to the folder named by its `sub`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Request

from function.errors import ErrorCode, ServiceError
from function.http.callers import caller_folder, input_key_for_request, output_key_for_request
from function.settings import Settings


class AuthMode(StrEnum):
    IAM = "iam"  # SigV4-signed callers, trusted with the whole prefixes
    JWT = "jwt"  # bearer tokens; each caller confined to its own folder
    NONE = "none"  # public: no bucket access on a caller's behalf


def _identity(event: dict[str, Any]) -> tuple[AuthMode | None, str | None]:
    """The identity API Gateway vouched for: (mode, sub or ARN), or (None, None)."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    # HTTP API (payload v2): authorizer.jwt.claims; REST API (v1) with a Cognito authorizer: authorizer.claims.
    claims = (authorizer.get("jwt") or {}).get("claims") or authorizer.get("claims")
    if isinstance(claims, dict) and claims.get("sub") is not None:
        return AuthMode.JWT, str(claims["sub"])
    # HTTP API: authorizer.iam; REST API with AWS_IAM: identity.userArn (null when unsigned).
    arn = (authorizer.get("iam") or {}).get("userArn") or (context.get("identity") or {}).get("userArn")
    if arn:
        return AuthMode.IAM, str(arn)
    return None, None


def caller_id(event: dict[str, Any]) -> str:
    """Who to name in the logs: the sub or ARN the gateway vouched for, else "anonymous". Never a token."""
    return _identity(event)[1] or "anonymous"


@dataclass(frozen=True)
class Caller:
    mode: AuthMode
    id: str  # the JWT's sub, the IAM ARN, or "anonymous"
    folder: str = ""  # "<sub>/" for a JWT caller: its namespace under each prefix; "" is the whole prefix

    def refuse_public_bucket_access(self, **asked: object) -> None:
        """In `none` mode, parameters that would use the bucket on the caller's behalf are a 403."""
        named = [name for name, value in asked.items() if value]
        if self.mode is AuthMode.NONE and named:
            verb = "need" if len(named) > 1 else "needs"
            raise ServiceError(
                f"{', '.join(named)} {verb} an authenticated caller, and this API is public (API_AUTH=none); "
                "send the image in the body or as image_url",
                code=ErrorCode.AUTHORIZATION_REQUIRED,
            )

    def input_key(self, requested: str, settings: Settings) -> str:
        return input_key_for_request(requested, settings.input_prefix, self.folder)

    def result_key(self, requested: str, settings: Settings) -> str:
        return output_key_for_request(requested, settings.results_prefix, settings.input_prefix, self.folder)


def caller_from_event(event: dict[str, Any], mode: AuthMode) -> Caller:
    """The caller of a request under `mode`; a 401 when the gateway vouched for no one this mode accepts."""
    if mode is AuthMode.NONE:
        return Caller(mode, caller_id(event))
    found, identity = _identity(event)
    if found is not mode or identity is None:
        how = "a SigV4-signed request" if mode is AuthMode.IAM else "a bearer token (Authorization header)"
        raise ServiceError(
            f"this API takes {how}; the request arrived without one", code=ErrorCode.AUTHENTICATION_REQUIRED
        )
    folder = caller_folder(identity) if mode is AuthMode.JWT else ""
    return Caller(mode, identity, folder)


def current_caller(request: Request) -> Caller:
    """FastAPI dependency: the request's Caller, before any S3 call is made on its behalf."""
    mode = AuthMode(request.app.state.processor.settings.api_auth)
    return caller_from_event(request.scope.get("aws.event") or {}, mode)
