"""``python -m ornn_cli ...`` is the ``ornn`` command (torchrun launches it this way)."""

import sys

from .main import main

sys.exit(main())
