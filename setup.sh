#!/usr/bin/env bash
# Idempotent set-up: a virtual environment at .venv/ with the dependencies of pyproject.toml.
# A second run reuses it (re-installs only when pyproject.toml changed).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
"$PY" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 needed, found {sys.version}"'
if ! command -v g++ >/dev/null 2>&1; then
  echo "setup: g++ is needed to compile the C-simulation; installing it with apt-get" >&2
  (apt-get update -qq && apt-get install -y -qq g++) >/dev/null
fi
if ! command -v yosys >/dev/null 2>&1; then
  echo "setup: yosys (open synthesis for resource counts) not found; installing Debian's yosys with apt-get" >&2
  (apt-get update -qq && apt-get install -y -qq yosys) >/dev/null 2>&1 || echo "setup: could not install yosys; resource counts from synthesis will be skipped" >&2
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.deps-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  deps=$(.venv/bin/python -c 'import tomllib; d=tomllib.load(open("pyproject.toml","rb"))["project"]; print("\n".join(d["dependencies"] + d["optional-dependencies"]["test"]))')
  mapfile -t dep_array <<<"$deps"
  if ! .venv/bin/python -m pip install -q "${dep_array[@]}" >.venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log >&2; echo "setup: pip install failed (log above)" >&2; exit 1
  fi
  .venv/bin/python -m pip check
  rm -f .venv/.deps-*
  touch "$stamp"
fi
