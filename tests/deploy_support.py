"""Checks every deploy test shares: the AWS SAM translator (offline, as ``sam validate``
runs it) and cfn-lint with zero findings, on many templates in one run."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

# The console script's own code, run with this interpreter (``cfnlint`` has no __main__).
CFN_LINT = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())"]
# Errors, warnings and informational rules all fail the run (experimental rules are off).
CFN_LINT_FLAGS = ["--regions", "us-east-1", "--include-checks", "I"]
CFN_LINT_STRICT = ["--non-zero-exit-code", "informational", "--format", "json"]

# What ``sam validate`` loads from IAM: the managed policies SAM may name. A fixed map,
# so the translation runs offline.
MANAGED_POLICIES = {
    "AWSLambdaBasicExecutionRole": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    ),
    "AWSLambdaSQSQueueExecutionRole": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
    ),
    "AWSLambdaDynamoDBExecutionRole": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"
    ),
    "AWSLambdaKinesisExecutionRole": (
        "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole"
    ),
}


class _PolicyLoader:
    def load(self) -> dict[str, str]:
        return dict(MANAGED_POLICIES)


def translate(template: dict[str, Any]) -> dict[str, Any]:
    """``template`` after the AWS SAM transform (plain CloudFormation)."""
    from samtranslator.translator.transform import transform

    # ``sam validate --region us-east-1``: the translator reads the region from boto3.
    # And, as ``sam validate`` does, local code paths become S3 locations first.
    template = copy.deepcopy(template)
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = "s3://bucket/value"
    saved = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
    try:
        result: dict[str, Any] = transform(template, {}, _PolicyLoader())  # type: ignore[arg-type]
    finally:
        if saved is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = saved
    return result


def cfn_lint(paths: list[Path]) -> dict[str, list[dict[str, Any]]]:
    """cfn-lint's findings per file name (every rule, informational included)."""
    result = subprocess.run(
        [*CFN_LINT, *CFN_LINT_FLAGS, *CFN_LINT_STRICT, *(str(path) for path in paths)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode not in (0, 2, 4, 6, 8, 10, 12, 14) or not result.stdout.strip():
        if result.returncode == 0:
            return {path.name: [] for path in paths}
        raise AssertionError(f"cfn-lint did not run: {result.stderr[-2000:]}")
    findings: dict[str, list[dict[str, Any]]] = {path.name: [] for path in paths}
    for finding in json.loads(result.stdout):
        findings[Path(finding["Filename"]).name].append(finding)
    return findings


def lint_summary(findings: list[dict[str, Any]]) -> list[str]:
    return [f"{f['Rule']['Id']} {f['Message']} @ {f['Location']['Path']}" for f in findings]
