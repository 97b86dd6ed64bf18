"""The build arguments `sam build` gives each function's image, by the SAM CLI's own code.

Run by tests/unit/test_template.py with the tools venv's Python (it has aws-sam-cli). Resolves the
template's Metadata with each given ModelName as `sam build --parameter-overrides ModelName=...` does
("-": the template's default). Prints JSON: {model name: {function: DockerBuildArgs}}.

    .venv-tools/bin/python tests/sam_build_args.py template.yaml - birefnet-general-lite
"""

import json
import os
import sys

if not os.environ.get("AWS_DEFAULT_REGION"):
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # only pseudo parameters need one

from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider


def build_args(template: str, model_name: str) -> dict:
    parameters = {} if model_name == "-" else {"ModelName": model_name}
    stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides=parameters)
    return {fn.name: (fn.metadata or {}).get("DockerBuildArgs") for fn in SamFunctionProvider(stacks).get_all()}


def main(template: str, *model_names: str) -> int:
    json.dump({name: build_args(template, name) for name in model_names}, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
