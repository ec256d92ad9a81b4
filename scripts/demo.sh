#!/usr/bin/env bash
# The demo: the hall of hallctl/data/demo.yaml on simulated devices (see README, "The two commands").
#
#   bash scripts/demo.sh                          # live view; Ctrl-C stops
#   bash scripts/demo.sh --speed 10 --duration 60 # options go to `hallctl demo`
#
# Works on a fresh machine without a terminal: creates .venv and installs hallctl when missing,
# and installs Mosquitto (the demo's embedded broker) and espeak-ng (its voice clips) when missing
# and allowed to. Without them the demo still runs, without MQTT and kiosks or without voice.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
PYTHON=${PYTHON:-python3}
VENV=.venv
PY=$VENV/bin/python

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        return 1
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "$@"
}

if [ ! -x "$PY" ]; then
    echo "==> creating $VENV" >&2
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

if ! "$PY" -c 'import hallctl.demo, rich' 2>/dev/null; then
    echo "==> installing hallctl" >&2
    "$PY" -m pip install -q -e .
fi

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if ! have mosquitto; then
    echo "==> installing mosquitto (the demo's embedded broker)" >&2
    # not fatal: the demo runs without MQTT and says so
    apt_install mosquitto mosquitto-clients ||
        echo "warning: could not install mosquitto; the demo runs without MQTT" >&2
fi
if ! have espeak-ng; then
    echo "==> installing espeak-ng (the TTS that builds the demo's voice clips)" >&2
    # not fatal: without it the demo runs, its speaker zones show offline with an alarm
    apt_install espeak-ng ||
        echo "warning: could not install espeak-ng; the demo runs without voice" >&2
fi

exec "$VENV/bin/hallctl" demo "$@"
