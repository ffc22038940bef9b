"""The class grader: hand-ins as LMSs give them (intake), one judge per student (judges), a
class at a time (grader), the reports (reports), near-identical code between students
(similarity), Gradescope's autograder (gradescope), the sample class (sample_class), and
its command line (cli)."""
