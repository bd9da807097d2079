"""`python -m annuaire`: see `annuaire.cli`."""

from annuaire.cli import main

raise SystemExit(main())
