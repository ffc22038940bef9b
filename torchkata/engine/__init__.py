"""Grading a folder of learner code with the real pytest suite: the plugin and its checks on
one side, the learner's code on the other (worker, or a confined child: channel and
confinement), only plain data between them (boundary), every child process started and ended
in one place (processes), a whole run in a child with a time limit (session)."""
