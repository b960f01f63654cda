"""Solidity sources, compiled artifacts, web3 bindings and the local chain launcher."""

import verinfer  # noqa: F401  - first: undoes py_ecc's recursion limit (verinfer/__init__)
