from tfguard.cli import main

if __name__ == "__main__":  # not when a spawned side process imports the parent's main module
    raise SystemExit(main())
