"""Stream stage: bytes → SSE events → validated items, with the connection policy."""
