"""`python -m assistant`: the same command line as `assistant` (for when the script is not on PATH)."""

from .cli import main

main()
