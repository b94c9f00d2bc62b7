# snippet: migration_boto3_before.py
import json
import os
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr

TABLE = boto3.resource("dynamodb").Table(os.environ["CONNECTIONS_TABLE"])
# https://{api-id}.execute-api.{region}.amazonaws.com/{stage}, set by the template
ENDPOINT = os.environ["WEBSOCKET_ENDPOINT"]


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    rc = event["requestContext"]
    route, connection_id = rc["routeKey"], rc["connectionId"]
    if route == "$connect":
        query = event.get("queryStringParameters") or {}
        if not query.get("user"):
            return {"statusCode": 401}
        room = query.get("room") or "lobby"
        TABLE.put_item(Item={"connectionId": connection_id, "user": query["user"], "room": room})
        return {"statusCode": 200}
    if route == "$disconnect":
        TABLE.delete_item(Key={"connectionId": connection_id})
        return {"statusCode": 200}

    try:
        text = json.loads(event.get("body") or "")["text"]
    except (ValueError, KeyError, TypeError):
        return {"statusCode": 400, "body": "bad message"}
    me = TABLE.get_item(Key={"connectionId": connection_id})["Item"]
    data = json.dumps({"from": me["user"], "text": text}).encode()
    api = boto3.client("apigatewaymanagementapi", endpoint_url=ENDPOINT)
    for item in TABLE.scan(FilterExpression=Attr("room").eq(me["room"]))["Items"]:
        try:
            api.post_to_connection(ConnectionId=item["connectionId"], Data=data)
        except api.exceptions.GoneException:
            TABLE.delete_item(Key={"connectionId": item["connectionId"]})
    return {"statusCode": 200}
