"""The shared ground of every step: the 30 fps timeline and its units (grid), the one
error users see (errors), atomic writes and the safe unpickler (files), command-line conventions (cli)."""
