"""``python -m giantstep`` runs the command line."""

import sys

from giantstep.cli import main

sys.exit(main())
