#!/usr/bin/env bash
# The Python client's tests (clients/python/tests), against the bridge built in dist/.
# Needs Debian's python3 (>= 3.10) with python3-venv and the client's dependencies as Debian
# packages (CI has no PyPI): python3-websockets python3-httpx python3-jsonpatch python3-pytest
# python3-pytest-asyncio python3-setuptools python3-pip, and python3-pandas for the pandas
# test (skipped, with its reason, without it). The virtual environment
# (clients/python/.venv, made on first use) sees them through --system-site-packages.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${TAPEBRIDGE_PYTHON:-/usr/bin/python3}"
if ! command -v "$python" >/dev/null 2>&1; then
  echo "test:python: $python not found; install Debian's python3 (or set TAPEBRIDGE_PYTHON)" >&2
  exit 1
fi
missing=$("$python" - <<'PY'
import importlib.util, sys
if sys.version_info < (3, 10):
    print(f"python >= 3.10 (this is {sys.version.split()[0]})")
packages = {"venv": "python3-venv", "ensurepip": "python3-venv", "pip": "python3-pip", "setuptools": "python3-setuptools",
            "websockets": "python3-websockets", "httpx": "python3-httpx", "jsonpatch": "python3-jsonpatch",
            "pytest": "python3-pytest", "pytest_asyncio": "python3-pytest-asyncio"}
print(" ".join(sorted({deb for module, deb in packages.items() if importlib.util.find_spec(module) is None})))
PY
)
if [ -n "${missing// /}" ]; then
  echo "test:python: $python lacks: $missing" >&2
  echo "  install with: sudo apt-get install -y $missing" >&2
  exit 1
fi

# pytest starts the bridge from dist/cli.js: build it when missing or older than the sources.
if [ ! -f dist/cli.js ] || [ -n "$(find src -newer dist/cli.js -print -quit)" ]; then
  npm run build --silent
fi

venv=clients/python/.venv
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv --system-site-packages "$venv"
fi
# Build the wheel users would get and install exactly that (dependencies and the test extra
# come from the Debian packages above, hence --no-deps and --no-build-isolation).
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
"$venv/bin/python" -m pip wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation -w "$wheels" ./clients/python
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --force-reinstall "$wheels"/tapebridge-*.whl
"$venv/bin/python" -m pytest -q -rs -p no:cacheprovider clients/python/tests "$@"
