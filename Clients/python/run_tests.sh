#!/usr/bin/env bash
# Runs the Python client's tests in a fresh virtual environment, the way CI does.
#
#   Clients/python/run_tests.sh [pytest arguments]
#
# CHORUS_BIN names the Swift `chorus` executable for the interoperability tests (without it
# they are skipped, and say so); VENV is where the environment goes (default: a new
# temporary directory).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
venv="${VENV:-$(mktemp -d)/venv}"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$here[test]"
cd "$here"
exec "$venv/bin/python" -m pytest -rs "$@"
