"""Your exercises. Fill in each function, replacing its `raise NotImplementedError`.

Run `torchkata` (or `nox -s learn`) to see which are done, `torchkata watch` to be graded on every save.
"""
