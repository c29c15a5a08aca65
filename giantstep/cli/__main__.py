"""``python -m giantstep`` runs the command line."""

import sys

from giantstep.cli import main  # noqa: E402

sys.exit(main())
