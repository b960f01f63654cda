"""verinfer core: the settings and the root of the error hierarchy, shared by every package."""
