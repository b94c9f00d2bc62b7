"""A multi-tenant chat on API Gateway WebSockets (see ``app.py``)."""
