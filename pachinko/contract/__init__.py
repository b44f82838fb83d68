"""Publish the contract: AsyncAPI documents, the manifest's JSON Schema, drift checks.

Beside the loader: it reads resolved plans (through `pachinko.contract.routes` only);
nothing in `pachinko.runtime` imports it.
"""

from __future__ import annotations
