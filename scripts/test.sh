#!/usr/bin/env bash
# The test command: lint, type-check and test hallctl, setting up what is missing first.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -k broker -x    # extra arguments go to pytest
#
# Works on a fresh machine without a terminal (CI): creates .venv, installs hallctl with its test
# extras, installs Mosquitto (the tests run a real broker) when it is missing. Runs every step
# even after one fails, so one run shows all problems, and exits non-zero if any failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
PYTHON=${PYTHON:-python3}
VENV=.venv
PY=$VENV/bin/python

step() { printf '\n==> %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        echo "error: need root to run: $*" >&2
        return 1
    fi
}

apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: apt-get not found; install these by hand: $*" >&2
        return 1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# -- Python environment ------------------------------------------------------------------------

if [ ! -x "$PY" ]; then
    step "creating $VENV"
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "error: hallctl needs Python 3.11 or newer; $PYTHON is $("$PYTHON" -V 2>&1)" >&2
        exit 1
    fi
    if ! "$PYTHON" -m venv "$VENV"; then
        # Debian/Ubuntu ship venv's pip bootstrap separately.
        rm -rf "$VENV"
        apt_install python3-venv
        "$PYTHON" -m venv "$VENV"
    fi
fi

# Reinstall when pyproject.toml changed since the last install into this venv (or never was):
# correct on a fresh machine, and fast on every later run.
stamp=$VENV/.hallctl-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! "$PY" -c 'import hallctl' 2>/dev/null; then
    step "installing hallctl and its test dependencies"
    "$PY" -m pip install -q -e '.[test]'
    echo "$want" >"$stamp"
fi

# -- system tools the tests use ----------------------------------------------------------------

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if ! have mosquitto || ! have mosquitto_passwd || ! have mosquitto_sub; then
    step "installing mosquitto"
    apt_install mosquitto mosquitto-clients
fi
# The page tests drive Debian's Chromium through Playwright (no browser download) and need CJK
# fonts to render Chinese pages as a hall would.
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
    step "installing chromium and fonts-noto-cjk"
    apt_install chromium fonts-noto-cjk fontconfig
fi
# The TLS broker tests make throwaway certificates with the cryptography package, or with the
# openssl command when that package is absent.
if ! "$PY" -c 'import cryptography' 2>/dev/null && ! have openssl; then
    step "installing openssl"
    apt_install openssl
fi
# Reports: charts need a CJK font; the report tests look at PDF pages with pdftoppm and at the
# HTML report in Chromium.
# (no `fc-list | grep -q`: with pipefail, grep's early exit fails the pipeline)
if [ -z "$(fc-list ':family=Noto Sans CJK SC' 2>/dev/null)" ]; then
    step "installing fonts-noto-cjk"
    apt_install fonts-noto-cjk fontconfig
fi
if ! have pdftoppm; then
    step "installing poppler-utils"
    apt_install poppler-utils
fi
if ! have chromium; then
    step "installing chromium"
    apt_install chromium
fi
# Voice calling: espeak-ng builds the clip sets, sox checks the audio, aplay (alsa-utils) plays it.
if ! have espeak-ng || ! have sox || ! have aplay; then
    step "installing espeak-ng, sox and alsa-utils"
    apt_install espeak-ng sox alsa-utils
fi
# The systemd unit's sandbox is rated with systemd-analyze (package systemd, which is not
# started here), and the daemon's system calls are checked against its filter with strace.
if ! have systemd-analyze || ! have strace; then
    step "installing systemd-analyze and strace"
    apt_install systemd strace
fi
# The back-end sink tests run a real PostgreSQL (initdb/postgres from Debian's packages, started
# in a temporary directory as the postgres user) and a real nats-server with JetStream.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    step "installing postgresql"
    apt_install postgresql
fi
if ! have nats-server; then
    step "installing nats-server"
    apt_install nats-server
fi
# Debian starts a system-wide broker on port 1883 when installing the package. The tests do not
# need it (each test starts its own broker on a free port), so it is left as it is.

# -- checks ------------------------------------------------------------------------------------

failed=()

step "ruff check"
# bench/ may not exist yet (git keeps no empty directories); ruff fails on a missing path.
lint_paths=()
for path in hallctl tests bench; do
    [ -e "$path" ] && lint_paths+=("$path")
done
"$PY" -m ruff check "${lint_paths[@]}" || failed+=("ruff")

step "mypy"
"$PY" -m mypy || failed+=("mypy")

step "pytest"
set +e
"$PY" -m pytest -q "$@"
status=$?
set -e
# 5 = no tests collected: not a failure (e.g. a -k that matches nothing in a fresh tree).
if [ "$status" -ne 0 ] && [ "$status" -ne 5 ]; then
    failed+=("pytest (exit $status)")
fi

echo
if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED: ${failed[*]}"
    exit 1
fi
echo "all checks passed"
