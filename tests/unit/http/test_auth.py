"""Who is calling is what API Gateway's authorizer wrote into the event, and nothing else; no
identity in a mode that needs one is a 401, and a public API never touches the bucket for a caller."""

import pytest

from function.errors import ErrorCode, ServiceError
from function.http.auth import AuthMode, Caller, caller_from_event, caller_id
from function.settings import Settings

ARN = "arn:aws:iam::123456789012:user/alice"
SUB = "0f3c6a1e-7b7d-4a53-9c61-1a2b3c4d5e6f"


def v2_jwt(sub=SUB, **claims) -> dict:
    return {
        "version": "2.0",
        "requestContext": {"authorizer": {"jwt": {"claims": {"sub": sub, **claims}, "scopes": None}}},
    }


def v2_iam(arn=ARN) -> dict:
    return {
        "version": "2.0",
        "requestContext": {"authorizer": {"iam": {"accessKey": "AKIA…", "userArn": arn, "userId": "AIDA…"}}},
    }


def v1(identity_arn=None, claims=None) -> dict:
    context = {"identity": {"sourceIp": "203.0.113.7", "userArn": identity_arn}}
    if claims:
        context["authorizer"] = {"claims": claims}
    return {"httpMethod": "POST", "requestContext": context}


def test_a_jwt_caller_is_its_sub_with_a_folder_of_its_own():
    caller = caller_from_event(v2_jwt(), AuthMode.JWT)

    assert caller == Caller(AuthMode.JWT, SUB, SUB + "/")


def test_an_iam_caller_is_its_arn_trusted_with_the_whole_prefixes():
    assert caller_from_event(v2_iam(), AuthMode.IAM) == Caller(AuthMode.IAM, ARN, "")


def test_rest_api_v1_shapes_are_understood_too():
    assert caller_from_event(v1(identity_arn=ARN), AuthMode.IAM).id == ARN
    assert caller_from_event(v1(claims={"sub": SUB, "email": "a@example.com"}), AuthMode.JWT).folder == SUB + "/"


@pytest.mark.parametrize(
    "event, mode",
    [
        ({}, AuthMode.JWT),
        ({}, AuthMode.IAM),
        ({"requestContext": {"authorizer": {"jwt": {"claims": {}}}}}, AuthMode.JWT),  # claims without a sub
        (v2_iam(), AuthMode.JWT),  # a stack whose gateway checks IAM but whose function expects JWT
        (v2_jwt(), AuthMode.IAM),
        (v1(identity_arn=None), AuthMode.IAM),  # REST API, unsigned: userArn is null
        ({"requestContext": {"authorizer": {"iam": {"userArn": ""}}}}, AuthMode.IAM),
    ],
    ids=[
        "no-context-jwt",
        "no-context-iam",
        "claims-without-sub",
        "iam-for-jwt",
        "jwt-for-iam",
        "v1-unsigned",
        "empty-arn",
    ],
)
def test_no_identity_the_mode_accepts_is_a_401(event, mode):
    with pytest.raises(ServiceError) as refused:
        caller_from_event(event, mode)

    assert refused.value.code is ErrorCode.AUTHENTICATION_REQUIRED and refused.value.status == 401


@pytest.mark.parametrize("sub", ["", ".", "..", "alice/../bob", "a\u2028b"])
def test_a_sub_that_cannot_be_a_folder_is_refused(sub):
    with pytest.raises(ServiceError) as refused:
        caller_from_event(v2_jwt(sub=sub), AuthMode.JWT)

    assert refused.value.code in (ErrorCode.CALLER_NOT_ALLOWED, ErrorCode.AUTHENTICATION_REQUIRED)
    assert refused.value.status in (401, 403)


def test_a_public_api_refuses_every_parameter_that_would_use_the_bucket():
    caller = caller_from_event({}, AuthMode.NONE)

    caller.refuse_public_bucket_access(image_key=None, output_key=False, overwrite=False)  # nothing asked: fine
    for asked in ({"image_key": "a.jpg"}, {"output_key": True}, {"overwrite": True}):
        with pytest.raises(ServiceError) as refused:
            caller.refuse_public_bucket_access(**asked)
        assert refused.value.code is ErrorCode.AUTHORIZATION_REQUIRED and refused.value.status == 403
        assert next(iter(asked)) in refused.value.message


def test_authenticated_callers_may_use_the_bucket_within_their_folder():
    settings = Settings(aws_bucket_name="b")
    alice = caller_from_event(v2_jwt(sub="alice"), AuthMode.JWT)
    signed = caller_from_event(v2_iam(), AuthMode.IAM)

    alice.refuse_public_bucket_access(image_key="a.jpg", output_key=True, overwrite=True)
    assert alice.input_key("a.jpg", settings) == "input/alice/a.jpg"
    assert alice.result_key("bob/a.png", settings) == "results/alice/bob/a.png"
    assert signed.input_key("a.jpg", settings) == "input/a.jpg"
    assert signed.result_key("a.png", settings) == "results/a.png"


def test_the_logs_name_the_sub_or_the_arn_never_the_token():
    event = {**v2_jwt(), "headers": {"authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.secret.sig"}}

    assert caller_id(event) == SUB
    assert caller_id(v2_iam()) == ARN
    assert caller_id({"headers": {"authorization": "Bearer eyJ.secret.sig"}}) == "anonymous"


def test_with_iam_caller_folders_a_signed_caller_gets_a_folder_folded_from_its_arn():
    alice = caller_from_event(v2_iam(ARN), AuthMode.IAM, iam_caller_folders=True)
    bob = caller_from_event(v2_iam("arn:aws:iam::123456789012:user/bob"), AuthMode.IAM, iam_caller_folders=True)
    settings = Settings()

    assert alice.folder.startswith("123456789012-user-alice-") and alice.folder.endswith("/")
    assert alice.folder == caller_from_event(v2_iam(ARN), AuthMode.IAM, iam_caller_folders=True).folder  # stable
    assert bob.folder != alice.folder
    assert set(alice.folder[:-1]) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
    assert alice.input_key("photo.jpg", settings) == f"input/{alice.folder}photo.jpg"
    # Confined as a JWT caller is: no spelling of bob's key reaches it.
    assert alice.input_key(f"input/{bob.folder}photo.jpg", settings).startswith(f"input/{alice.folder}")
    with pytest.raises(ServiceError):
        alice.input_key(f"../{bob.folder}photo.jpg", settings)


def test_a_roles_sessions_share_the_roles_folder_and_arns_that_fold_alike_stay_apart():
    def folder(arn: str) -> str:
        return caller_from_event(v2_iam(arn), AuthMode.IAM, iam_caller_folders=True).folder

    monday = folder("arn:aws:sts::123456789012:assumed-role/uploader/session-monday")
    tuesday = folder("arn:aws:sts::123456789012:assumed-role/uploader/i-0abc")

    assert monday == tuesday == folder("arn:aws:iam::123456789012:role/uploader")
    assert monday.startswith("123456789012-role-uploader-")
    assert folder("arn:aws:iam::123456789012:user/a.b") != folder("arn:aws:iam::123456789012:user/a/b")
    assert folder("arn:aws:iam::123456789012:user/a+b") != folder("arn:aws:iam::123456789012:user/a=b")


def test_without_the_setting_a_signed_caller_keeps_the_whole_prefixes():
    assert caller_from_event(v2_iam(), AuthMode.IAM).folder == ""


@pytest.mark.parametrize("arn", ["not-an-arn", "arn:aws:iam::", "arn:aws:iam:::user/x"])
def test_an_identity_that_is_no_principal_arn_gets_no_folder_and_no_access(arn):
    with pytest.raises(ServiceError) as refused:
        caller_from_event(v2_iam(arn), AuthMode.IAM, iam_caller_folders=True)

    assert refused.value.code is ErrorCode.CALLER_NOT_ALLOWED
