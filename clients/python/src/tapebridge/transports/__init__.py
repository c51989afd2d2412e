"""The three ways to the bridge: WebSocket, Server-Sent Events, HTTP long polling."""
