"""`python -m colalamo` is the `colalamo` command."""

from .cli.main import main

raise SystemExit(main())
