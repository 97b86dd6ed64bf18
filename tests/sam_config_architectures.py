"""The architecture each function gets from `sam build` and from `sam deploy`, by the SAM CLI's own code.

Run by tests/unit/test_template.py with the tools venv's Python (it has aws-sam-cli). Reads the
samconfig.toml in CONFIG_DIR the way the SAM CLI does (the [global] section's parameters, each
command's own on top), parses its parameter_overrides with the CLI's option type, and resolves
the template's Architectures with them. Prints JSON: {config dir: {command: {function: [architecture]}}}.

    .venv-tools/bin/python tests/sam_config_architectures.py template.yaml CONFIG_DIR [CONFIG_DIR ...]
"""

import json
import sys

from samcli.cli.types import CfnParameterOverridesType
from samcli.lib.config.samconfig import SamConfig
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider


def architectures(template: str, config_dir: str) -> dict:
    config = SamConfig(config_dir)
    resolved = {}
    for command in ("build", "deploy"):
        overrides = config.get_all([command], "parameters").get("parameter_overrides", "")
        parameters = CfnParameterOverridesType().convert(overrides, None, None) if overrides else {}
        stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides=parameters)
        resolved[command] = {fn.name: fn.architectures for fn in SamFunctionProvider(stacks).get_all()}
    return resolved


def main(template: str, *config_dirs: str) -> int:
    json.dump({folder: architectures(template, folder) for folder in config_dirs}, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
