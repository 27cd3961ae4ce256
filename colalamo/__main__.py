"""`python -m colalamo` is the `colalamo` command."""

from ._cli.main import main

raise SystemExit(main())
