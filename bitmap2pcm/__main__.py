"""`python -m bitmap2pcm`: the `bitmap2pcm` command (bitmap2pcm/commands/main.py)."""

import sys

from .commands.main import main

sys.exit(main())
