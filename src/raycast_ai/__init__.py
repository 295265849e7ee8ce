"""raycast-ai: Raycast AI outside the Raycast app."""
