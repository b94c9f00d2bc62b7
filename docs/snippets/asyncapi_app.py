# snippet: asyncapi_app.py
import os
import secrets

from pydantic import BaseModel, Field

from lift import App, Context
from lift.middleware import JWTConfig, websocket_auth


class ChatMessage(BaseModel):
    action: str
    room: str = Field(min_length=1, max_length=64)
    text: str = Field(max_length=500)


class ChatReply(BaseModel):
    room: str
    text: str


app = App()
app.use(
    websocket_auth(
        JWTConfig(
            secret=os.environ.get("JWT_SECRET") or secrets.token_urlsafe(48),
            algorithms=["HS256"],
        ),
        token_sources=("query:token",),
    )
)


@app.websocket("chat", model=ChatMessage, reply=ChatReply)
def chat(ctx: Context, message: ChatMessage) -> dict[str, str]:
    """Post a message to a room."""
    return {"room": message.room, "text": message.text}
