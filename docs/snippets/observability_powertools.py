# snippet: observability_powertools.py
from aws_lambda_powertools import Metrics

from lift import App, Context
from lift.middleware import websocket_metrics

metrics = Metrics(namespace="Chat", service="chat")
app = App()
app.use(websocket_metrics(metrics))  # written through Powertools, one EMF document per flush


@app.websocket("$default")
def echo(ctx: Context) -> None:
    ctx.websocket.send(ctx.text)
