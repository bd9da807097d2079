"""`python -m knowledge ask --json [--top N] [--content-dir DIR] [QUESTION ...]` and `check`."""

from knowledge.cli import main

raise SystemExit(main())
