"""Who is calling, decided once per request from what API Gateway's authorizer wrote into the event.

API Gateway checks the SigV4 signature (iam) or the JWT (jwt) before the function runs, and puts
the result in `requestContext`, which a caller cannot set. The function trusts only that, and
fails closed: in iam or jwt mode a request without it is refused, so a stack deployed without
its authorizer lets no one in rather than everyone. What each caller may then touch is a key
rule (function/http/callers.py): a JWT caller is confined to the folder named by its `sub`, and with
IAM_CALLER_FOLDERS a signed caller to one folded from its principal ARN.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fastapi import Request

from function.errors import ErrorCode, ServiceError
from function.http.callers import caller_folder, iam_caller_folder, input_key_for_request, output_key_for_request
from function.settings import Settings


class AuthMode(StrEnum):
    IAM = "iam"  # SigV4-signed callers: the whole prefixes, or a folder each (IAM_CALLER_FOLDERS)
    JWT = "jwt"  # bearer tokens; each caller confined to its own folder
    NONE = "none"  # public: no bucket access on a caller's behalf


def _identity(event: dict[str, Any]) -> tuple[AuthMode | None, str | None]:
    """The identity API Gateway vouched for: (mode, sub or ARN), or (None, None)."""
    context = _object(_object(event).get("requestContext"))
    authorizer = _object(context.get("authorizer"))
    # HTTP API (payload v2): authorizer.jwt.claims; REST API (v1) with a Cognito authorizer: authorizer.claims.
    claims = _object(_object(authorizer.get("jwt")).get("claims") or authorizer.get("claims"))
    if isinstance(claims.get("sub"), str | int):
        return AuthMode.JWT, str(claims["sub"])
    # HTTP API: authorizer.iam; REST API with AWS_IAM: identity.userArn (null when unsigned).
    arn = _object(authorizer.get("iam")).get("userArn") or _object(context.get("identity")).get("userArn")
    if isinstance(arn, str) and arn:
        return AuthMode.IAM, arn
    return None, None


def _object(value: object) -> dict[str, Any]:
    """`value` if it is a JSON object, else {}: a field of another shape (a Lambda authorizer's
    string context, a null) vouches for no one, and must not crash the request."""
    return value if isinstance(value, dict) else {}


def caller_id(event: dict[str, Any]) -> str:
    """Who to name in the logs: the sub or ARN the gateway vouched for, else "anonymous". Never a token."""
    return _identity(event)[1] or "anonymous"


@dataclass(frozen=True)
class Caller:
    mode: AuthMode
    id: str  # the JWT's sub, the IAM ARN, or "anonymous"
    # "<sub>/" for a JWT caller (a folded ARN with IAM_CALLER_FOLDERS): its namespace under each prefix;
    # "" is the whole prefix.
    folder: str = ""

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


def caller_from_event(
    event: dict[str, Any], mode: AuthMode, longest_prefix: str = "", iam_caller_folders: bool = False
) -> Caller:
    """The caller of a request under `mode`; a 401 when the gateway vouched for no one this mode accepts.
    `longest_prefix`: the longest folder the caller's own folder goes under (its keys must fit S3's limit);
    `iam_caller_folders`: confine signed callers to a folder of their own, as JWT callers are."""
    if mode is AuthMode.NONE:
        return Caller(mode, caller_id(event))
    found, identity = _identity(event)
    if found is not mode or identity is None:
        how = "a SigV4-signed request" if mode is AuthMode.IAM else "a bearer token (Authorization header)"
        raise ServiceError(
            f"this API takes {how}; the request arrived without one", code=ErrorCode.AUTHENTICATION_REQUIRED
        )
    folder = ""
    if mode is AuthMode.JWT:
        folder = caller_folder(identity, longest_prefix)
    elif iam_caller_folders:
        folder = iam_caller_folder(identity, longest_prefix)
    return Caller(mode, identity, folder)


def current_caller(request: Request) -> Caller:
    """FastAPI dependency: the request's Caller, before any S3 call is made on its behalf."""
    settings = request.app.state.processor.settings
    event = request.scope.get("aws.event") or {}
    return caller_from_event(event, AuthMode(settings.api_auth), settings.longest_prefix, settings.iam_caller_folders)
