#!/usr/bin/env bash
# The test command: lint, type-check and test hallctl, setting up what is missing first.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -k broker -x    # extra arguments go to pytest
#
# Works on a fresh machine without a terminal (CI): creates .venv, installs hallctl with its test
# extras, and installs with apt the real parts the tests use when they are missing (Mosquitto,
# Chromium and CJK fonts, poppler, espeak-ng/sox/alsa-utils, PostgreSQL, nats-server, systemd's
# analyzer and strace). Runs every step even after one fails, so one run shows all problems, and
# exits non-zero if any failed.
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
# Everything missing is gathered first and installed with one apt-get (one index update).
need=()
want() { need+=("$@"); }
# MQTT: the tests run a real Mosquitto broker.
{ have mosquitto && have mosquitto_passwd && have mosquitto_sub; } || want mosquitto mosquitto-clients
# The TLS broker tests make throwaway certificates with the cryptography package, or with the
# openssl command when that package is absent.
"$PY" -c 'import cryptography' 2>/dev/null || have openssl || want openssl
# Pages and reports: Debian's Chromium under Playwright (no browser download), CJK fonts for
# pages and charts, pdftoppm to look at PDF reports.
# (no `fc-list | grep -q`: with pipefail, grep's early exit fails the pipeline)
[ -x /usr/bin/chromium ] || want chromium
[ -n "$(fc-list ':family=Noto Sans CJK SC' 2>/dev/null)" ] || want fonts-noto-cjk fontconfig
have pdftoppm || want poppler-utils
# Voice calling: espeak-ng builds the clip sets, sox checks the audio, aplay (alsa-utils) plays it.
{ have espeak-ng && have sox && have aplay; } || want espeak-ng sox alsa-utils
# The systemd unit's sandbox is rated with systemd-analyze (package systemd, which is not
# started here), and the daemon's system calls are checked against its filter with strace.
{ have systemd-analyze && have strace; } || want systemd strace
# The back-end sink tests run a real PostgreSQL (initdb/postgres from Debian's packages, started
# in a temporary directory as the postgres user) and a real nats-server with JetStream.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want postgresql
have nats-server || want nats-server
if [ "${#need[@]}" -gt 0 ]; then
    step "installing ${need[*]}"
    apt_install "${need[@]}"
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
