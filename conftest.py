"""Makes `pytest assignments/<id>` grade: this loads the kit's pytest plugin for any pytest
run under this repository, installed or not (pytest puts this folder on sys.path)."""
pytest_plugins = ["autograder.pytest_plugin"]
