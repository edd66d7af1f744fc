"""``python -m percepiano`` runs the command line."""

import sys

from percepiano.cli.main import main

sys.exit(main())
