# snippet: observability_app.py
from lift import App, Context
from lift.middleware import request_logging, websocket_metrics
from lift.observability import EMFMetrics, JSONLogger

app = App(
    logger=JSONLogger(service="chat"),  # extra fields go on every line
    metrics=EMFMetrics(namespace="Chat"),  # default: LIFT_METRICS_NAMESPACE, else "Lift"
)
app.use(request_logging())  # one line per event
app.use(websocket_metrics())  # websocket.* metrics, flushed once per invocation


@app.websocket("chat")
def chat(ctx: Context) -> None:
    ctx.logger.info("Chat message", size=len(ctx.body))  # bound to the request id
    ctx.metrics.add("chat.messages", 1, "Count", {"room": ctx.json().get("room", "lobby")})
