#!/usr/bin/env bash
# Installs the Debian packages the test suite drives as real peers, only when missing (idempotent).
# Package scripts must not start system services: a policy-rc.d that refuses starts is put in place only while
# installing, and removed afterwards if we created it.
set -euo pipefail

PACKAGES=(
  iproute2 ethtool tcpdump kmod curl systemd
  dnsmasq busybox-static cpio xz-utils
  atftp tftp-hpa tftpd-hpa
  ipxe qemu-system-x86 ovmf ipxe-qemu
  nginx-light wrk
  nix-bin shellcheck ansible python3-yaml
  isc-dhcp-relay
  ansible-lint debootstrap
  gcc libc6-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "test-deps: installing ${missing[*]}" >&2
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ $created_policy -eq 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
