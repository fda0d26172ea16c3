"""The commands, each with two doors (`core.cli.Command`): a script of the checkout and a
subcommand of the installed `bitmap2pcm` (main). Each module holds one command's arguments,
help and examples, then one call into the package: pickle (pickler.py), train (theanet.py),
render (render.sh, and render.py's sound track alone), evaluate (evaluate.py)."""
