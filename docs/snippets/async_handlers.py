# snippet: async_handlers.py
import asyncio
import json
import time
from typing import Any

from lift import App, Context
from lift.middleware import request_logging
from lift.testing import events
from lift.types import Handler

app = App()
app.use(request_logging())  # a def middleware: it sees the awaited result


def timed(handler: Handler) -> Handler:
    async def wrapper(ctx: Context) -> Any:  # an async def middleware
        start = time.perf_counter()
        try:
            return await handler(ctx)  # the handler below may be def or async def
        finally:
            ctx.set("elapsed", time.perf_counter() - start)

    return wrapper


app.use(timed)


async def price(symbol: str) -> float:
    await asyncio.sleep(0.01)  # an aiohttp/httpx/aioboto3 call in a real app
    return {"ACME": 12.5, "INITECH": 3.25}[symbol]


@app.websocket("quote")
async def quote(ctx: Context) -> dict[str, Any]:
    symbols = ctx.json()["symbols"]
    prices = await asyncio.gather(*(price(s) for s in symbols))  # concurrently
    return dict(zip(symbols, prices, strict=True))


@app.websocket("$default")
def echo(ctx: Context) -> str:  # sync handlers run as before, with no event loop
    return ctx.text


result = app(events.websocket_message({"action": "quote", "symbols": ["ACME", "INITECH"]}))
assert json.loads(result["body"]) == {"ACME": 12.5, "INITECH": 3.25}
assert app(events.websocket_message("hello"))["body"] == "hello"
