"""`python -m raycast_ai`: the `raycast-ai` command."""

from raycast_ai.cli.main import main

if __name__ == "__main__":
    main()
