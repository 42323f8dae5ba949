#!/usr/bin/env bash
# Idempotent: installs everything needed to build, test and run mpsa on Debian 12 (bookworm).
# Run as root. Safe to run again; apt-get skips what is already installed.
set -euo pipefail
if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: must run as root (apt-get)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
PKGS=(
    # build
    build-essential g++ cmake ninja-build pkg-config git clang clang-format clang-tidy
    libclang-rt-14-dev
    # libraries
    libssl-dev libnl-3-dev libnl-route-3-dev libnl-xfrm-3-dev nlohmann-json3-dev
    libgtest-dev libgmock-dev googletest libbenchmark-dev libexpected-dev libasio-dev
    libcpp-httplib-dev libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
    # real peers and tools for tests
    frr frr-pythontools charon-systemd strongswan-swanctl strongswan-charon
    libstrongswan-standard-plugins libstrongswan-extra-plugins libcharon-extra-plugins tshark
    iproute2 iputils-ping procps psmisc kmod tcpdump python3 python3-yaml jq
    # dataplane VM
    qemu-system-x86 linux-image-amd64 busybox-static xz-utils cpio
)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup.sh: installing ${missing[*]}"
    # tshark asks whether non-root users may capture; answer for it
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The frr package starts a system-wide FRR; tests run their own per-namespace daemons only.
if command -v systemctl >/dev/null && systemctl is-active -q frr 2>/dev/null; then
    systemctl stop frr || true
fi
echo "setup.sh: all dependencies present"
