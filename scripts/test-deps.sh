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
  xorriso
  chromium
  # Secure Boot chain (test/e2e/secureboot.test.ts): signed shim + GRUB; ARM64 UEFI firmware and QEMU.
  shim-signed grub-efi-amd64-signed sbsigntool
  qemu-system-arm qemu-efi-aarch64
  # The boot storm's lossy TAP bridge (test/storm/lossy-bridge.c) is compiled at test time.
  gcc libc6-dev
)

# The ARM64 UEFI e2e case fetches Debian's signed arm64 shim/GRUB with `apt-get download <pkg>:arm64`
# (test/e2e/arm64.ts): that needs arm64 as a foreign dpkg architecture and its package lists.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "test-deps: adding dpkg architecture arm64" >&2
  dpkg --add-architecture arm64
  apt-get update -q >&2
fi

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
