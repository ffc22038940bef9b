"""torchkata: the machinery behind the kata.

Data runs one way through these modules, each with one job:

    manifest   the curriculum: order, ids, points, off-limits built-ins, hints
    loader     a folder laid out like exercises/ becomes importable modules
    tripwire   notices off-limits built-ins while learner code runs
    boundary   only plain data crosses between learner code and the checks
    worker     where learner code runs (in-process today; a child process later)
    learner    the test-side proxy for one exercise: calls, probes, handles
    checks     assertions that explain themselves to a learner
    plugin     the pytest plugin: --impl, --device, the `learner` fixture, verdicts

The curriculum folders (exercises/, solutions/) import nothing from here: a learner's
file needs nothing but torch.
"""
