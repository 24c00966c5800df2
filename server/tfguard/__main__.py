from tfguard.cli import main

if __name__ == "__main__":  # not when imported as a module (multiprocessing's spawn re-imports the main module)
    raise SystemExit(main())
