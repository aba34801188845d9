"""Front-ends for the places courses grade: a student repository with its GitHub workflow
(``export``, ``github``)."""
