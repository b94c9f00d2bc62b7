"""Local emulation of API Gateway: the WebSocket gateway and its ``@connections`` endpoint."""
