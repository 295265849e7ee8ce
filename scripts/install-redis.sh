#!/bin/sh
# Installs redis-server (Debian's package) for the tests of the shared store, which start a real
# one; does nothing when it is already on PATH. Needs root or sudo, and apt-get.
set -eu
if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "redis-server is missing and there is no apt-get here: install Redis (6.2 or newer) with your package manager so that redis-server is on PATH." >&2
    exit 1
fi
if [ "$(id -u)" = 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "redis-server is missing, and installing it needs root: run 'apt-get install redis-server' as root." >&2
    exit 1
fi
install() {
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server
}
if ! install; then
    $SUDO apt-get update && install || {
        echo "Installing redis-server failed (see above): install it so that redis-server is on PATH." >&2
        exit 1
    }
fi
command -v redis-server >/dev/null 2>&1 || {
    echo "redis-server was installed but is not on PATH (it is usually /usr/bin/redis-server)." >&2
    exit 1
}
