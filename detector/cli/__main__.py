"""`python -m detector.cli`: the `jingwang` console script."""
from detector.cli import main

main()
