"""``python -m acomp``: the ``acomp`` command line."""

from __future__ import annotations

import sys

from acomp.cli import main

if __name__ == "__main__":
    sys.exit(main())
