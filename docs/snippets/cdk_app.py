# snippet: cdk_app.py
"""A CDK app deploying deploy_app.py: `cdk deploy` runs this file."""

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda

from lift.deploy.cdk import LiftApp

HERE = Path(__file__).parent

app = cdk.App()
stack = cdk.Stack(app, "Reports")
reports = LiftApp(
    stack,
    "Reports",
    app="deploy_app:app",
    # The directory with deploy_app.py and Lift installed next to it
    # (pip install --target build lift-python[aws] && cp deploy_app.py build/).
    code=aws_lambda.Code.from_asset(str(HERE / "build")),
    stage="prod",
    queue_env={"REPORTS_QUEUE_URL": "reports"},
)
app.synth()
