"""torchkata: the machinery behind the kata, in four packages (top to bottom):

    learn/      the learner's app: their checkout's verdicts, the status screen, watch, plots
    classroom/  the class grader: intake of hand-ins, judges, reports, Gradescope
    engine/     grading a folder of learner code with the real pytest suite, in a sandbox
    core/       shared by all: the curriculum, the verdict and failure records, every word

`cli` (the command line) and `bench` (timing against torch's built-ins) sit on top. The two
apps never import each other, and each package imports only from those below it
(pyproject.toml's import-linter contracts). A failure travels as a record (core/failures.py)
from the check that found it to the page that shows it, and is said only there, in its
reader's language.

The curriculum folders (exercises/, solutions/) import nothing from here: a learner's
file needs nothing but torch.
"""
