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
    verdicts   done, wrong, not attempted, grading error (only "wrong" blames the code)
    devices    one way to compare devices (`cuda` is `cuda:<current device>`)
    processes  every child process: sound forks where CUDA is visible, deadlines, endings
    preload    torch's one-time costs, paid once before forking

The curriculum folders (exercises/, solutions/) import nothing from here: a learner's
file needs nothing but torch.
"""
