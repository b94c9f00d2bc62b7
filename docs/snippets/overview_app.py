# snippet: overview_app.py
from dataclasses import dataclass
from typing import Any

from lift import App, Context, not_found

app = App()
ORDERS: dict[str, dict[str, Any]] = {}


@dataclass
class NewOrder:
    item: str
    quantity: int = 1


@app.post("/orders")
def create_order(ctx: Context) -> Any:
    order = ctx.bind(NewOrder)  # 422 VALIDATION_ERROR with field details on bad input
    ORDERS[str(len(ORDERS) + 1)] = {"item": order.item, "quantity": order.quantity}
    return ctx.status(201).json({"id": str(len(ORDERS))})


@app.get("/orders/{id}")
def get_order(ctx: Context) -> dict[str, Any]:
    order = ORDERS.get(ctx.param("id") or "")
    if order is None:
        raise not_found("No such order")  # {"error": {"code": "NOT_FOUND", ...}}
    return order


@app.websocket("$default")
def echo(ctx: Context) -> None:
    ctx.websocket.send(ctx.text)


@app.sqs("orders-*")  # queue names are glob patterns
def ship(ctx: Context) -> None:
    for record in ctx.request.records:
        ctx.logger.info("Shipping", message_id=record["messageId"])


@app.schedule("nightly-*")
def nightly(ctx: Context) -> None:
    ctx.logger.info("Nightly report", orders=len(ORDERS))


handler = app
