"""The gateway, its job store and workers, and the `verinfer` CLI."""

import verinfer  # noqa: F401  - first: undoes py_ecc's recursion limit (verinfer/__init__)
