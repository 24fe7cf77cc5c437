"""`python -m orchestrator_cli` runs the `orchestrator` command."""

import sys

from .main import main

sys.exit(main())
