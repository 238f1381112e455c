"""``python -m iaxsim``: the ``iaxsim`` command (for an environment without its script on PATH)."""
from __future__ import annotations

import sys

from iaxsim.cli import main

sys.exit(main())
