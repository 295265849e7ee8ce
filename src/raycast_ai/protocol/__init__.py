"""The sans-I/O core: bytes and dicts in, bytes and typed events out. No sockets, no event loop."""
