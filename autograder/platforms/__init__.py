"""Front-ends for the places courses grade, each a thin layer over the engine: a student
repository with its GitHub workflow (``export``, ``github``), Gradescope's autograder
(``gradescope``), and nbgrader's course directory with the notebooks' test cells
(``nbgrader``, ``notebook``)."""
