"""Coverage-guided fuzzing (atheris) of the parsers that read what browsers and targets send."""
