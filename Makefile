# The two commands a newcomer needs: `make demo` and `make test`.
SWIFT ?= swift
PYTHON_TESTS = Clients/python/tests

.PHONY: demo test deploy-check fuzz build release python-test bench clean

## Set up, build, and merge a real two-rank training job through a live collector.
demo:
	scripts/setup
	$(SWIFT) build -c release --product chorus
	.build/release/chorus demo

## Set up and run every test: Swift unit, case and end-to-end tests, the Python client's, Deploy/'s,
## and 30,000 seeded fuzz inputs through the decoder and the merger.
test:
	scripts/setup --python
	$(SWIFT) build
	CHORUS_PYTHON=$(CURDIR)/.venv/bin/python $(SWIFT) test
	CHORUS_BIN=$(CURDIR)/.build/debug/chorus CHORUS_PYTHON=$(CURDIR)/.venv/bin/python \
		.venv/bin/python -m pytest -q $(PYTHON_TESTS)
	$(MAKE) --no-print-directory deploy-check
	scripts/fuzz --repeatable 30000

## Fuzz the wire decoder and the merger with libFuzzer for FUZZ_SECONDS (default 600).
FUZZ_SECONDS ?= 600
fuzz:
	scripts/fuzz $(FUZZ_SECONDS)

## Check Deploy/ without a Docker engine: lint, schemas, and the image's libraries running the real job.
deploy-check:
	SWIFT=$(SWIFT) scripts/check-deploy

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release --product chorus

## The collector's throughput beside libzmq's and SQLite's.
bench: release
	.build/release/chorus bench

clean:
	rm -rf .build .venv chorus-demo
