"""`python -m truceline` and the ``truceline`` command run the CLI."""

from truceline import startup


def main() -> None:
    """Start the CLI, collecting garbage rarely from before its first import."""
    startup.begin()
    from truceline.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
