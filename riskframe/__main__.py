"""``python -m riskframe``: the same as the ``riskframe`` command."""

from riskframe.cli import main

raise SystemExit(main())
