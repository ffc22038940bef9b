"""Shared by every part of torchkata, and importing none of them: the curriculum (manifest),
what a verdict and a failure are (verdicts, failures), every word in two languages (i18n),
reading a learner's source without running it (source), where things are (paths), devices
compared one way (devices), and the published tests' digests (digests)."""
