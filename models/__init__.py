"""Build, export and register models; the model commitment."""
