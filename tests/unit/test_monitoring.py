"""The operator hears of failures: the template's alarms and dashboard, checked offline.

Every metric an alarm or the dashboard watches must exist, or the alarm sits in INSUFFICIENT_DATA
forever and the graph stays empty: either AWS's own (the namespace, name and dimension names its
documentation lists) or one the functions emit. The latter are not written down twice: the code's
own emitters (function/observability.py) run here under the environment the template gives the
functions, and what they print (CloudWatch EMF) is what the template must name.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from function.errors import OPERATOR_FAULTS, ErrorCode
from function.observability import STAGE_METRICS
from tests.unit.test_template import (
    NO_VALUE,
    PSEUDO,
    ROOT,
    TOOLS_BIN,
    function_props,
    holds,
    parameters,
    resolve,
    resources,
    template_dict,
    translated,
    with_defaults,
)

FUNCTIONS = ("HttpFunction", "S3Function", "BackfillFunction")
QUEUES = ("FailureQueue", "InputQueue")
# What AWS publishes, as its documentation lists it: namespace -> (metric names, dimension names).
# Lambda: "Viewing metrics for Lambda functions"; SQS: "Available CloudWatch metrics for Amazon SQS";
# API Gateway: "Monitor CloudWatch metrics for HTTP APIs" (HTTP APIs name them 4xx/5xx, not 4XXError,
# and take ApiId and Stage, not ApiName).
AWS_METRICS = {
    "AWS/Lambda": ({"Errors", "Throttles", "Duration", "ConcurrentExecutions", "Invocations"}, {"FunctionName"}),
    "AWS/SQS": ({"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}, {"QueueName"}),
    "AWS/ApiGateway": ({"4xx", "5xx", "Count", "Latency", "IntegrationLatency"}, {"ApiId", "Stage"}),
}


@pytest.fixture(scope="module")
def template() -> dict:
    return template_dict()


def functions_environment(tpl: dict) -> dict[str, str]:
    """The Powertools variables every function is given, resolved for a stack (tests/unit/test_template.PSEUDO)."""
    variables = tpl["Globals"]["Function"]["Environment"]["Variables"]
    return {
        name: str(resolve(variables[name], parameters(tpl))) for name in variables if name.startswith("POWERTOOLS_")
    }


EMIT_EVERYTHING = """
import sys
from types import SimpleNamespace
from function.errors import ErrorCode
from function.observability import STAGE_METRICS, metrics, record_failure, record_image


@metrics.log_metrics(capture_cold_start_metric=True)  # as every handler is wrapped (function/handlers.py)
def handler(event, context):
    stages = {stage: 1.0 for stage in STAGE_METRICS}
    record_image(SimpleNamespace(source_megapixels=1.0, stage_ms=stages, format="png"), {}, "u2netp")
    for code in ErrorCode:
        record_failure(code)


handler({}, SimpleNamespace(function_name=sys.argv[1]))  # a first invocation: a cold start
"""


@pytest.fixture(scope="module")
def emitted(template) -> dict[tuple[str, str, frozenset[str]], list[dict[str, str]]]:
    """(namespace, metric, dimension names) -> the dimension values seen, for every metric the code emits,
    run in a fresh process with the functions' environment from the template."""
    env = {**os.environ, **functions_environment(template), "POWERTOOLS_TRACE_DISABLED": "true"}
    run = subprocess.run(
        [sys.executable, "-c", EMIT_EVERYTHING, "<Ref HttpFunction>"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    found: dict = {}
    for line in run.stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    key = (directive["Namespace"], metric["Name"], frozenset(dimensions))
                    found.setdefault(key, []).append({name: document[name] for name in dimensions})
    assert found, run.stdout[-2000:]
    return found


# --------------------------------------------------------------------------- what the template watches


def literal(value, params: dict[str, str]) -> str:
    """A dimension value as the test compares it: pseudo parameters and parameters resolved,
    resources as <Ref X> / <GetAtt X.Attr>."""
    if isinstance(value, dict) and "Ref" in value and value["Ref"] not in PSEUDO and value["Ref"] not in params:
        return f"<Ref {value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return "<GetAtt {}.{}>".format(*value["Fn::GetAtt"])
    return str(resolve(value, params))


def substituted(tpl: dict, sub, params: dict[str, str]) -> str:
    """An Fn::Sub's text with its variables (Fn::If and nested Fn::Sub resolved), pseudo parameters and
    parameters filled in, and resources as <Ref X> / <GetAtt X.Attr>."""
    text, variables = (sub, {}) if isinstance(sub, str) else sub
    scope = {}
    for name, value in variables.items():
        while isinstance(value, dict) and "Fn::If" in value:
            condition, when_true, when_false = value["Fn::If"]
            value = when_true if holds(tpl, condition, params) else when_false
        scope[name] = substituted(tpl, value["Fn::Sub"], params) if isinstance(value, dict) else value

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name in scope:
            return scope[name]
        if name in PSEUDO or name in params:
            return str({**PSEUDO, **params}[name])
        return f"<GetAtt {name}>" if "." in name else f"<Ref {name}>"

    return re.sub(r"\$\{([^}!]+)\}", fill, text)


def chosen(tpl: dict, value, params: dict[str, str]):
    """A value with its Fn::If branches taken and parameters resolved; resources stay as they are."""
    if isinstance(value, list):
        return [chosen(tpl, v, params) for v in value]
    if isinstance(value, dict) and "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        return chosen(tpl, when_true if holds(tpl, condition, params) else when_false, params)
    if value == {"Ref": "AWS::NoValue"}:
        return NO_VALUE
    if isinstance(value, dict) and value.get("Ref") in params:
        return params[value["Ref"]]
    return value


def alarms(tpl: dict, params: dict[str, str]) -> dict[str, dict]:
    """The alarms a stack with these parameters has (a resource's Condition decides)."""
    return {
        name: alarm["Properties"]
        for name, alarm in resources(tpl, "AWS::CloudWatch::Alarm").items()
        if "Condition" not in alarm or holds(tpl, alarm["Condition"], params)
    }


def metrics_of_alarm(props: dict, params: dict[str, str]) -> list[tuple[str, str, dict[str, str], str]]:
    """(namespace, metric, dimensions, statistic) of every metric an alarm reads."""
    if "MetricName" in props:
        dims = {d["Name"]: literal(d["Value"], params) for d in props["Dimensions"]}
        return [(props["Namespace"], props["MetricName"], dims, props.get("Statistic") or props["ExtendedStatistic"])]
    out = []
    for query in props["Metrics"]:
        if "MetricStat" in query:
            metric = query["MetricStat"]["Metric"]
            dims = {d["Name"]: literal(d["Value"], params) for d in metric["Dimensions"]}
            out.append((metric["Namespace"], metric["MetricName"], dims, query["MetricStat"]["Stat"]))
    return out


SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\} MetricName=\"(?P<name>[^\"]+)\"(?P<filters>[^']*)'")


def dashboard(tpl: dict, params: dict[str, str]) -> dict:
    (board,) = resources(tpl, "AWS::CloudWatch::Dashboard").values()
    return json.loads(substituted(tpl, board["Properties"]["DashboardBody"]["Fn::Sub"], params))


def metrics_of_dashboard(board: dict) -> list[tuple[str, str, dict[str, str], str, str]]:
    """(namespace, metric, dimensions, statistic, widget title) of every line of every graph; a SEARCH
    stands for its metric with the dimensions of its schema, the filtered ones set."""
    out = []
    for widget in board["widgets"]:
        props = widget["properties"]
        for line in props["metrics"]:
            if isinstance(line[0], dict):
                search = SEARCH.search(line[0]["expression"])
                namespace, *dimension_names = search["schema"].split(",")
                filters = dict(re.findall(r'(\w+)="([^"]*)"', search["filters"]))
                dims = {name: filters.get(name, "*") for name in dimension_names}
                out.append((namespace, search["name"], dims, "Sum", props["title"]))
                continue
            options = line[-1] if isinstance(line[-1], dict) else {}
            namespace, name, *pairs = [item for item in line if not isinstance(item, dict)]
            dims = dict(zip(pairs[::2], pairs[1::2], strict=True))
            out.append((namespace, name, dims, options.get("stat", props["stat"]), props["title"]))
    return out


CONFIGURATIONS = [
    {},
    {"IngestQueue": "true"},
    {"IngestQueue": "true", "AlarmEmail": "ops@example.com"},
]


def watched(tpl: dict, params: dict[str, str]) -> list[tuple[str, str, dict[str, str], str]]:
    from_alarms = [m for props in alarms(tpl, params).values() for m in metrics_of_alarm(props, params)]
    return from_alarms + [m[:4] for m in metrics_of_dashboard(dashboard(tpl, params))]


# --------------------------------------------------------------------------- every watched metric exists


@pytest.fixture(scope="module")
def api_stage() -> str:
    """The HTTP API's stage as SAM creates it (the Stage dimension of API Gateway's metrics)."""
    if not (TOOLS_BIN / "python").exists():
        pytest.skip("no .venv-tools (aws-sam-translator lives there)")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        res = translated(ROOT / "template.yaml", Path(folder) / "transformed.json")["Resources"]
    (stage,) = [r["Properties"] for r in res.values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert stage["ApiId"] == {"Ref": "HttpApi"}
    return stage["StageName"]


@pytest.mark.sam
@pytest.mark.parametrize("overrides", CONFIGURATIONS, ids=lambda o: ",".join(o) or "defaults")
def test_every_aws_metric_watched_is_one_the_service_publishes_for_a_resource_of_this_stack(
    template, api_stage, overrides
):
    params = parameters(template, **overrides)
    queues = {f"<GetAtt {q}.QueueName>" for q in QUEUES if q in template["Resources"]}
    allowed_values = {
        "FunctionName": {f"<Ref {f}>" for f in FUNCTIONS},
        "QueueName": queues,
        "ApiId": {"<Ref HttpApi>"},
        "Stage": {api_stage},
    }
    aws = [m for m in watched(template, params) if m[0].startswith("AWS/")]

    assert aws
    for namespace, name, dims, _ in aws:
        names, dimension_names = AWS_METRICS[namespace]
        assert name in names, (namespace, name)
        assert set(dims) == dimension_names, (namespace, name, dims)
        for dimension, value in dims.items():
            assert value in allowed_values[dimension], (namespace, name, dimension, value)


@pytest.mark.process
@pytest.mark.parametrize("overrides", CONFIGURATIONS, ids=lambda o: ",".join(o) or "defaults")
def test_every_own_metric_watched_is_one_the_functions_emit_under_the_templates_namespace(template, emitted, overrides):
    params = parameters(template, **overrides)
    ours = [m for m in watched(template, params) if not m[0].startswith("AWS/")]
    service = functions_environment(template)["POWERTOOLS_SERVICE_NAME"]
    function_names = {f"<Ref {f}>" for f in FUNCTIONS}

    assert ours
    for namespace, name, dims, _ in ours:
        key = (namespace, name, frozenset(dims))
        assert key in emitted, f"{key} is not emitted; the code emits {sorted(emitted, key=str)}"
        for dimension, value in dims.items():
            seen = {values[dimension] for values in emitted[key]}
            if dimension == "function_name":  # Powertools names the Lambda function: its Ref
                assert value in function_names
                assert seen == {"<Ref HttpFunction>"}  # the name the emitter was given
            elif dimension == "error_code":
                assert value == "*" or value in {str(code) for code in ErrorCode}
            else:
                assert value == service and seen == {service}, (name, dimension, value, seen)


def test_the_functions_metrics_are_per_stack(template):
    """Two stacks in one account must not add up on each other's dashboard or alarms."""
    assert template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == {
        "Ref": "AWS::StackName"
    }


# --------------------------------------------------------------------------- the alarms the operator needs


def alarm_on(tpl: dict, params: dict[str, str], namespace: str, metric: str, **dims: str) -> dict:
    (props,) = [
        props
        for props in alarms(tpl, params).values()
        if any(
            (m[0], m[1]) == (namespace, metric) and dims.items() <= m[2].items()
            for m in metrics_of_alarm(props, params)
        )
    ]
    return props


def test_a_photo_in_the_failure_queue_raises_an_alarm(template):
    props = alarm_on(template, parameters(template), "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert props["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailureQueue", "QueueName"]}}]
    assert (props["Statistic"], props["ComparisonOperator"], props["Threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        0,
    )


def test_a_waiting_ingest_queue_raises_an_alarm_when_there_is_one(template):
    without = parameters(template)
    with_queue = parameters(template, IngestQueue="true")
    assert not [p for p in alarms(template, without).values() if "ApproximateAgeOfOldestMessage" in json.dumps(p)]
    props = alarm_on(
        template, with_queue, "AWS/SQS", "ApproximateAgeOfOldestMessage", QueueName="<GetAtt InputQueue.QueueName>"
    )
    assert props["ComparisonOperator"] == "GreaterThanThreshold" and 0 < props["Threshold"] <= 3600


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_has_error_throttle_and_near_timeout_alarms(template, function):
    params = parameters(template)
    for metric in ("Errors", "Throttles"):
        props = alarm_on(template, params, "AWS/Lambda", metric, FunctionName=f"<Ref {function}>")
        assert (props["Statistic"], props["ComparisonOperator"], props["Threshold"]) == (
            "Sum",
            "GreaterThanThreshold",
            0,
        )
    props = alarm_on(template, params, "AWS/Lambda", "Duration", FunctionName=f"<Ref {function}>")
    # The share of this function's own timeout (seconds; Duration is in ms), over 80 %.
    (expression,) = [q for q in props["Metrics"] if "Expression" in q]
    (stat,) = [q for q in props["Metrics"] if "MetricStat" in q]
    for model in ("u2net", "isnet-general-use", "birefnet-general"):  # the timeout follows the model's
        for given in ("model", "60"):
            values = {**params, "ModelName": model, "S3Timeout": given}
            timeout = resolve(function_props(template, function)["Timeout"], values, template)
            assert resolve(expression["Expression"], values, template) == f"{stat['Id']} / (1000 * {timeout})"
    assert stat["MetricStat"]["Stat"] in ("p99", "Maximum") and expression["ReturnData"] is True
    assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0.8)


def test_the_apis_5xx_rate_raises_an_alarm(template, api_stage):
    params = parameters(template)
    props = alarm_on(template, params, "AWS/ApiGateway", "5xx")
    by_id = {q["Id"]: q for q in props["Metrics"]}
    errors, requests = (
        next(i for i, q in by_id.items() if q.get("MetricStat", {}).get("Metric", {}).get("MetricName") == name)
        for name in ("5xx", "Count")
    )
    (rate,) = [q for q in by_id.values() if q.get("ReturnData")]
    assert rate["Expression"] == f"IF({requests} > 0, {errors} / {requests}, 0)"
    assert 0 < props["Threshold"] < 1


def test_a_misconfigured_bucket_access_raises_an_alarm(template):
    params = parameters(template)
    for code in OPERATOR_FAULTS:
        props = alarm_on(template, params, "RemoveBg", "Failures", error_code=str(code))
        assert props["Statistic"] == "Sum" and props["Threshold"] == 0


@pytest.mark.parametrize(
    "overrides, destination",
    [
        ({}, None),
        ({"AlarmEmail": "ops@example.com"}, {"Ref": "AlarmTopic"}),
        ({"AlarmTopicArn": "arn:aws:sns:us-east-1:123456789012:ops"}, "arn:aws:sns:us-east-1:123456789012:ops"),
    ],
)
def test_every_alarm_notifies_the_topic_or_email_given_and_nobody_otherwise(template, overrides, destination):
    params = parameters(template, **overrides)
    for name, props in alarms(template, params).items():
        for actions in ("AlarmActions", "OKActions"):
            resolved = chosen(template, props[actions], params)
            if destination is None:
                assert resolved is NO_VALUE, name
            else:
                assert resolved == [destination], name
    topic = template["Resources"]["AlarmTopic"]
    assert holds(template, topic["Condition"], params) == ("AlarmEmail" in overrides)
    assert topic["Properties"]["Subscription"] == [{"Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}]


@pytest.mark.parametrize(
    "value, accepted", [("", True), ("ops@example.com", True), ("ops", False), ("a@b.example, c@d.example", False)]
)
def test_alarm_email_is_one_address(template, value, accepted):
    assert bool(re.fullmatch(template["Parameters"]["AlarmEmail"]["AllowedPattern"], value)) == accepted


# --------------------------------------------------------------------------- the dashboard


def test_the_dashboard_shows_what_an_operator_looks_at_first(template):
    params = parameters(template, IngestQueue="true")
    lines = metrics_of_dashboard(dashboard(template, params))
    by_metric = {}
    for namespace, name, dims, stat, title in lines:
        by_metric.setdefault((namespace, name), []).append((dims, stat, title))

    assert ("RemoveBg", "ImagesProcessed") in by_metric
    # Latency percentiles of every stage the functions time, and of the whole.
    for stage in [*STAGE_METRICS.values(), "TotalMs"]:
        assert {stat for _, stat, _ in by_metric[("RemoveBg", stage)]} >= {"p50", "p90", "p99"}, stage
    (failures,) = by_metric[("RemoveBg", "Failures")]
    assert failures[0]["error_code"] == "*"  # one line per error code, whichever occur
    for metric in (("RemoveBg", "ColdStart"), ("AWS/Lambda", "ConcurrentExecutions")):
        dimension = "function_name" if metric[0] == "RemoveBg" else "FunctionName"
        assert {dims[dimension] for dims, _, _ in by_metric[metric]} == {f"<Ref {f}>" for f in FUNCTIONS}
    depth = {dims["QueueName"] for dims, _, _ in by_metric[("AWS/SQS", "ApproximateNumberOfMessagesVisible")]}
    assert depth == {"<GetAtt FailureQueue.QueueName>", "<GetAtt InputQueue.QueueName>"}


def test_the_dashboard_without_the_ingest_queue_names_no_queue_that_is_not_there(template):
    lines = metrics_of_dashboard(dashboard(template, parameters(template)))
    assert "<GetAtt InputQueue.QueueName>" not in json.dumps(lines)
    assert resources(template, "AWS::SQS::Queue")["InputQueue"]["Condition"] == "IngestsThroughQueue"


@pytest.mark.lint
def test_cfn_lint_reports_nothing_with_every_alarm_on(tmp_path):
    from cfnlint.api import lint_file

    path = with_defaults(tmp_path, IngestQueue="true", AlarmEmail="ops@example.com", FrontendUrl="https://a.example")
    matches = lint_file(path)
    assert not matches, "\n".join(str(m) for m in matches)


@pytest.mark.sam
@pytest.mark.skipif(not (TOOLS_BIN / "sam").exists(), reason="no .venv-tools/bin/sam")
def test_sam_validate_lint_with_every_alarm_on(tmp_path):
    path = with_defaults(tmp_path, IngestQueue="true", AlarmTopicArn="arn:aws:sns:us-east-1:123456789012:ops")
    run = subprocess.run(
        [str(TOOLS_BIN / "sam"), "validate", "--lint", "--template-file", str(path)],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
