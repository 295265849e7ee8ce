"""The `raycast-ai` terminal client: one module per command, loaded when the command runs."""
