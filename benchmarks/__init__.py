"""Speed benchmarks of the course's pipeline (``make bench``; ``make bench QUICK=1`` for a smoke run).

See benchmarks/README.md for what each one measures, the latest results and the commands.
"""
