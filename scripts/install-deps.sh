#!/usr/bin/env bash
# Installs the Debian packages Baton needs to build and test. Idempotent and non-interactive:
# packages that are already installed are left alone; `apt-get update` runs only when something
# is missing. Run as root, or as a user with sudo.
set -euo pipefail

packages=(
  cmake ninja-build g++ make pkg-config clang-format clang-tidy clang libclang-rt-14-dev
  libsqlite3-dev sqlite3
  libgtest-dev libgmock-dev
  libboost-json1.81-dev libboost-url1.81-dev libboost1.81-dev libcli11-dev libssl-dev
  libyaml-cpp-dev libtomlplusplus-dev zlib1g-dev libhowardhinnant-date-dev tzdata
  curl unzip
  postgresql libpq-dev
  patroni python3-etcd etcd-server
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
