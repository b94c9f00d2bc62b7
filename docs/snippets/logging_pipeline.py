# snippet: logging_pipeline.py
import io
import json
import logging

from lift import App, Context
from lift.observability import configure_logging
from lift.testing import events

stream = io.StringIO()  # sys.stdout when not given, as Lambda wants
configure_logging("INFO", stream=stream)  # one JSON handler on the root logger

app = App()


@app.get("/orders/{id}")
def get_order(ctx: Context) -> dict[str, str]:
    ctx.logger.info("Order read", order_id=ctx.param("id"), headers=dict(ctx.headers))
    logging.getLogger("myapp.billing").info("Invoice %s ready", "INV-7", extra={"cents": 990})
    logging.getLogger("botocore.credentials").info("Found credentials in environment variables")
    return {"id": ctx.param("id") or ""}


app(events.http_v1("GET", "/orders/42", headers={"Authorization": "Bearer abc.def.ghi"}))
lines = [json.loads(line) for line in stream.getvalue().splitlines()]
assert [(line.get("logger"), line["message"]) for line in lines] == [
    (None, "Order read"),  # Lift's own lines have no "logger" field
    ("myapp.billing", "Invoice INV-7 ready"),
    ("botocore.credentials", "Found credentials in environment variables"),
]
assert lines[0]["order_id"] == "42" and lines[0]["headers"]["authorization"] == "[REDACTED]"
assert lines[1]["cents"] == 990 and lines[0]["timestamp"].endswith("Z")
