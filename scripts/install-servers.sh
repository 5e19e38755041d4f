#!/usr/bin/env bash
# Installs the real servers the tests start on 127.0.0.1: Prometheus (with
# promtool) and Alertmanager, from Debian's packages. Does nothing when they are
# already installed.
set -euo pipefail
need=()
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
if [ ${#need[@]} -eq 0 ]; then
    echo "prometheus, promtool and prometheus-alertmanager are installed"
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root or sudo to install: ${need[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The packages' services are not started: the tests run their own servers.
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts the packaged daemons; they listen on all interfaces and are not needed.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now prometheus prometheus-alertmanager >/dev/null 2>&1 || true
fi
echo "installed: ${need[*]}"
