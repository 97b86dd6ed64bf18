"""What `sam local invoke` would hand each function's container, by the SAM CLI's own code.

Run by tests/unit/test_template.py with the tools venv's Python (it has aws-sam-cli; the function's
venv must not). Docker is not needed: this stops where the SAM CLI
would start the container, after resolving the template (intrinsics, parameter overrides) and
the `--env-vars` file into each function's command and environment. Prints JSON.

    .venv-tools/bin/python tests/sam_local_env.py template.yaml events/local-env.json [Name=Value ...]
"""

import json
import sys
from pathlib import Path

from samcli.commands.local.lib.local_lambda import LocalLambdaRunner
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider


def main(template: str, env_vars_file: str, *overrides: str) -> int:
    parameters = dict(item.split("=", 1) for item in overrides)
    stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides=parameters)
    provider = SamFunctionProvider(stacks)
    env_vars = json.loads(Path(env_vars_file).read_text()) if env_vars_file != "-" else {}
    runner = LocalLambdaRunner(
        local_runtime=None, function_provider=provider, cwd=".", real_path=".", env_vars_values=env_vars
    )
    containers = {
        function.name: {
            "command": function.imageconfig["Command"],
            "environment": runner._make_env_vars(function).resolve(),
        }
        for function in provider.get_all()
    }
    json.dump(containers, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
