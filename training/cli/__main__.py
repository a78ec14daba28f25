"""`python -m training.cli`: the `jingwang` console script."""
from detector.cli import main

main()
