# snippet: redaction.py
import io
import json

from lift.observability import JSONLogger

stream = io.StringIO()
logger = JSONLogger(stream=stream).bind(request_id="req-1")

headers = {"Authorization": "Bearer eyJ...", "Cookie": "sid=42", "Host": "ws.example.com"}
logger.info("Upgrade", headers=headers, user_id="ana")

line = json.loads(stream.getvalue())
assert line["message"] == "Upgrade" and line["level"] == "INFO"
assert line["request_id"] == "req-1" and line["user_id"] == "ana"
assert line["headers"] == {
    "Authorization": "[REDACTED]",
    "Cookie": "[REDACTED]",
    "Host": "ws.example.com",
}
