"""Stage 4: the runtime: router, connections, dispatch, hooks, manager, workers.

Never imports `pachinko.manifest` or `pachinko.loader`: wiring by hand needs no manifest.
"""
