"""Which functions `sam deploy --guided` would call unauthenticated, by the SAM CLI's own code.

Run by tests/unit/test_template.py with the tools venv's Python (it has aws-sam-cli). For each
function the guided deploy finds without authorization it asks "<name> has no authentication. Is
this okay? [y/N]", and the default answer aborts the deploy. Prints JSON: {ApiAuth: {function: authorized}}.

    .venv-tools/bin/python tests/sam_guided_auth.py template.yaml AWS_IAM JWT NONE
"""

import json
import sys

from samcli.commands.deploy.auth_utils import auth_per_resource
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

JWT = {"JwtIssuer": "https://issuer.example", "JwtAudience": "client"}


def main(template: str, *modes: str) -> int:
    found = {}
    for mode in modes:
        stacks, _ = SamLocalStackProvider.get_stacks(template, parameter_overrides={"ApiAuth": mode, **JWT})
        found[mode] = dict(auth_per_resource(stacks))
    json.dump(found, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
