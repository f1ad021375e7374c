"""``python -m aelab`` runs the command line."""

import sys

from aelab.cli import main

sys.exit(main())
