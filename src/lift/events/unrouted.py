"""Names for the kinds of events Lift recognises but does not route.

Only read once no adapter has taken an event, so that ``UnsupportedEventError`` can say
what arrived ("a Bedrock agent event") instead of only what it is not.
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe"]

_RECORD_SOURCES = {
    "aws:ses": "an Amazon SES",
    "aws:codecommit": "an AWS CodeCommit",
    "aws:kafka": "an Amazon MSK (Kafka)",
    "SelfManagedKafka": "a self-managed Kafka",
    "aws:amq": "an Amazon MQ (ActiveMQ)",
    "aws:rmq": "an Amazon MQ (RabbitMQ)",
    "aws:docdb": "an Amazon DocumentDB stream",
}

# (keys that must all be present, description): the first match names the event.
_SHAPES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("agent", "actionGroup"), "a Bedrock agent"),
    (("triggerSource", "userPoolId"), "an Amazon Cognito user pool"),
    (("datasetName", "identityId"), "an Amazon Cognito sync"),
    (("awslogs",), "a CloudWatch Logs subscription"),
    (("deliveryStreamArn",), "an Amazon Data Firehose"),
    (("RequestType", "ResponseURL"), "a CloudFormation custom resource"),
    (("info", "arguments"), "an AWS AppSync resolver"),
    (("fieldName", "arguments"), "an AWS AppSync resolver"),
    (("authorizationToken", "requestContext", "requestHeaders"), "an AWS AppSync authorizer"),
    (("CodePipeline.job",), "an AWS CodePipeline job"),
    (("invocationSchemaVersion", "tasks"), "an S3 Batch Operations"),
    (("getObjectContext",), "an S3 Object Lambda"),
    (("listObjectsContext",), "an S3 Object Lambda"),
    (("listObjectsV2Context",), "an S3 Object Lambda"),
    (("headObjectContext",), "an S3 Object Lambda"),
    (("configRuleName",), "an AWS Config rule"),
    (("SecretId", "Step"), "a Secrets Manager rotation"),
    (("Details", "Name"), "an Amazon Connect contact flow"),
    (("currentIntent", "bot"), "an Amazon Lex"),
    (("sessionState", "bot"), "an Amazon Lex V2"),
    (("session", "request", "version"), "an Alexa skill"),
    (("directive",), "an Alexa smart home"),
    (("eventSource", "bootstrapServers"), "a Kafka"),
    (("deploymentId", "lifecycleEventHookExecutionId"), "a CodeDeploy lifecycle hook"),
    (("serviceNetworkArn",), "a VPC Lattice"),
    (("raw_path", "method", "headers"), "a VPC Lattice"),
    (("protocolData",), "an AWS IoT custom authorizer"),
    (("AlarmName", "NewStateValue"), "a CloudWatch alarm (through SNS)"),
    (("alarmArn", "alarmData"), "a CloudWatch alarm"),
    (("eventVersion", "userIdentity", "eventSource"), "a bare CloudTrail record"),
)


def describe(event: dict[str, Any]) -> str | None:
    """``"a Bedrock agent"`` for a Bedrock agent event; ``None`` when unknown."""
    records = event.get("Records")
    if isinstance(records, list) and records and isinstance(records[0], dict):
        first = records[0]
        if "cf" in first:
            return "a CloudFront (Lambda@Edge)"
        source = first.get("eventSource") or first.get("EventSource")
        if isinstance(source, str):
            return _RECORD_SOURCES.get(source, f"an '{source}'")
    for keys, name in _SHAPES:
        if all(key in event for key in keys):
            return name
    rc = event.get("requestContext")
    if isinstance(rc, dict) and "serviceNetworkArn" in rc:
        return "a VPC Lattice"
    return None
