#!/usr/bin/env bash
# Installs the Debian 12 packages Basis Studio needs to build, test and run (run as root).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
  cmake g++ make pkg-config ca-certificates \
  qt6-base-dev libqt6opengl6-dev qt6-svg-dev libqcustomplot-dev \
  libtorch-dev libopenblas0-openmp libyaml-cpp-dev libsentencepiece-dev nlohmann-json3-dev libcli11-dev libgtest-dev libxxhash-dev libpcre2-dev libicu-dev strace \
  xvfb imagemagick
