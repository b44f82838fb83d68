"""Connection-manager backends: the `Backend` protocol and the built-in `memory` backend."""
