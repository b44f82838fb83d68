.PHONY: test demo bench profile

test:
	./scripts/test

demo:
	./scripts/demo

bench:
	./scripts/setup
	.venv/bin/python -m pip install -q -e ".[bench]"
	.venv/bin/python -m bench

profile:
	.venv/bin/python -m bench.profile
