"""A faithful local Raycast AI backend, for the demo, the tests and the benchmarks.

The app lives in `raycast_ai.emulator.app` (Starlette) and the threaded server in
`raycast_ai.emulator.server`; this package itself holds only the credentials that pair a client
with the emulator, so importing it stays cheap. The secret is the emulator's own test secret,
never Raycast's.
"""

EMULATOR_TOKEN = "emulator-token"
EMULATOR_SECRET = "raycast-ai-emulator-test-secret"
