"""API Gateway's JWT authorizer, emulated for local runs (`API_AUTH=jwt make run`) and the tests.

On AWS, API Gateway checks a bearer token (signature against the issuer's keys, issuer, audience,
expiry) on the guarded routes and hands the function its claims in
`requestContext.authorizer.jwt.claims`. Locally there is no gateway, so this ASGI wrapper does the
same with a key of its own: it issues HS256 tokens for local users, answers a guarded route
without a valid one the way API Gateway does (401 `{"message": "Unauthorized"}`), and puts the
claims where Mangum would put the event (`scope["aws.event"]`). Dev only: never deployed.
"""

from __future__ import annotations

import json
import time

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

# The routes template.yaml leaves public (tests/unit/test_template.py checks they agree); any
# other route needs a token, as behind the deployed catch-all.
PUBLIC_ROUTES = {
    ("GET", "/"),
    ("GET", "/health"),
    ("GET", "/docs"),
    ("GET", "/docs/{proxy+}"),
    ("GET", "/openapi.json"),
}
LOCAL_ISSUER = "http://127.0.0.1/local-issuer"
LOCAL_AUDIENCE = "local"


def is_public(method: str, path: str) -> bool:
    if method == "OPTIONS":  # API Gateway answers CORS preflights itself, before any authorizer
        return True
    return (method, path) in PUBLIC_ROUTES or (method == "GET" and path.startswith("/docs/"))


class LocalJwtAuthorizer:
    def __init__(self, app, issuer: str = LOCAL_ISSUER, audience: str = LOCAL_AUDIENCE):
        self.app = app
        self.issuer = issuer
        self.audience = audience
        self._key = OctKey.generate_key(256)
        self._claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
        )

    def token_for(self, sub: str, lifetime: int = 3600, **claims) -> str:
        now = int(time.time())
        payload = {"sub": sub, "iss": self.issuer, "aud": self.audience, "iat": now, "exp": now + lifetime, **claims}
        return jwt.encode({"alg": "HS256"}, payload, self._key)

    def claims_of(self, authorization: str) -> dict | None:
        """The token's claims when it is a valid bearer token for this issuer and audience, else None."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            decoded = jwt.decode(token.strip(), self._key, algorithms=["HS256"])
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError):
            return None
        return decoded.claims

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or is_public(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
        claims = self.claims_of(headers.get("authorization", ""))
        if claims is None:
            body = json.dumps({"message": "Unauthorized"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        event = {"requestContext": {"authorizer": {"jwt": {"claims": claims, "scopes": None}}}}
        await self.app({**scope, "aws.event": event}, receive, send)
