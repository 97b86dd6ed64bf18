"""Run the real SAM translator offline; print the CloudFormation it would deploy as JSON.

Run by tests/unit/test_template.py with the tools venv's Python (.venv-tools has
aws-sam-translator; the function's venv must not). cfn-lint >= 1 validates SAM templates
against SAM's schema without expanding them, so it cannot see problems that only exist
after the transform, e.g. the bucket notification <-> function policy circular dependency.

    .venv-tools/bin/python tests/sam_transform.py template.yaml > transformed.json
"""

import json
import os
import sys

if not os.environ.get("AWS_DEFAULT_REGION"):
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"  # only pseudo parameters need one

from cfnlint.decode import decode  # cfn-lint understands the !Tags
from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform


class NoManagedPolicies:
    """The template names no managed policies by name, so no IAM look-up is needed."""

    def load(self):
        return {}


def main(path: str) -> int:
    template, matches = decode(path)
    if matches:
        print("\n".join(str(m) for m in matches), file=sys.stderr)
        return 1
    # `sam build` fills ImageUri in; the translator insists on one.
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and props.get("PackageType") == "Image":
            props.setdefault("ImageUri", "123456789012.dkr.ecr.us-east-1.amazonaws.com/rembg:python3.12-v1")
    try:
        out = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as exc:
        for cause in exc.causes:
            print(cause.message, file=sys.stderr)
        return 1
    json.dump(out, sys.stdout, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
