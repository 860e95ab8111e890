"""`python -m standby`: the `standby` command (the demo starts its parts this way)."""

from standby.cli.main import main

if __name__ == "__main__":
    main()
