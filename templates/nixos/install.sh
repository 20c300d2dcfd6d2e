# ---- static part (templates/nixos/install.sh): everything above this line was set by pxed, shell-quoted ----
# Expects: PXED_HOST PXED_BASE_URL PXED_EVENTS_URL PXED_DISK ('' = largest disk) PXED_LAYOUT (direct|lvm)
#          PXED_SWAP_MB (0 = no swap)
# Runs inside a stock NixOS netboot image as root (started from systemd.run=, docs/nixos-netboot.md).

step=start
efi=false
# Mount point of the target (PXED_ROOT is only ever set by the tests, which run this script against stub tools).
root=${PXED_ROOT:-/mnt}

report() {
  # $1 = installed|failed, $2 = detail (plain text without quotes or backslashes: step names and exit codes only)
  body=$(printf '{"status":"%s","detail":"%s"}' "$1" "$2")
  curl -fsS --retry 3 --max-time 20 -X POST -H 'Content-Type: application/json' --data "$body" "$PXED_EVENTS_URL" >/dev/null || true
}

on_exit() {
  rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "pxed: install of $PXED_HOST failed in step $step (exit $rc)" >&2
    report failed "step $step failed (exit $rc)"
  fi
}
trap on_exit EXIT

# Partition N of disk D: /dev/sda -> /dev/sda1, /dev/nvme0n1 -> /dev/nvme0n1p1, /dev/disk/by-id/X -> X-part1.
part() {
  case $1 in
    /dev/disk/by-*) echo "$1-part$2" ;;
    *[0-9]) echo "$1p$2" ;;
    *) echo "$1$2" ;;
  esac
}

step=pick-disk
if [ -z "$PXED_DISK" ]; then
  # Largest writable, non-removable whole disk (zram and loop devices excluded).
  PXED_DISK=$(lsblk -dbnpo NAME,TYPE,RM,RO,SIZE | awk '$2 == "disk" && $3 == 0 && $4 == 0 && $1 !~ /zram/ { print $5, $1 }' | sort -n | tail -n 1 | cut -d' ' -f2)
fi
case $PXED_DISK in
  /dev/*) ;;
  *) echo "pxed: no target disk found" >&2; exit 1 ;;
esac
case $PXED_DISK in
  *[!A-Za-z0-9/_.:-]*) echo "pxed: unexpected disk path $PXED_DISK" >&2; exit 1 ;;
esac
[ "$(lsblk -dno TYPE "$PXED_DISK" 2>/dev/null)" = disk ] || { echo "pxed: $PXED_DISK is not a whole disk" >&2; exit 1; }
if [ -d /sys/firmware/efi ]; then efi=true; fi
echo "pxed: installing $PXED_HOST on $PXED_DISK (efi=$efi, layout=$PXED_LAYOUT, swap=${PXED_SWAP_MB}MiB)"

step=partition
# A previous install may have left swap on, LVM volumes active or signatures on the old partitions.
swapoff -a || true
vgchange -an >/dev/null 2>&1 || true
for p in $(lsblk -lnpo NAME "$PXED_DISK" | tail -n +2); do wipefs -af "$p" || true; done
wipefs -af "$PXED_DISK"
parted -s "$PXED_DISK" -- mklabel gpt
if [ "$efi" = true ]; then
  parted -s "$PXED_DISK" -- mkpart ESP fat32 1MiB 513MiB set 1 esp on
else
  # GPT on BIOS: GRUB needs a BIOS boot partition; /boot lives on the root file system.
  parted -s "$PXED_DISK" -- mkpart bios 1MiB 513MiB set 1 bios_grub on
fi
if [ "$PXED_LAYOUT" = direct ] && [ "$PXED_SWAP_MB" -gt 0 ]; then
  parted -s "$PXED_DISK" -- mkpart root ext4 513MiB "-${PXED_SWAP_MB}MiB"
  parted -s "$PXED_DISK" -- mkpart swap linux-swap "-${PXED_SWAP_MB}MiB" 100%
else
  parted -s "$PXED_DISK" -- mkpart root 513MiB 100%
fi
udevadm settle || sleep 2
boot_part=$(part "$PXED_DISK" 1)
root_part=$(part "$PXED_DISK" 2)
swap_dev=''

step=format
if [ "$efi" = true ]; then mkfs.fat -F 32 -n BOOT "$boot_part"; fi
if [ "$PXED_LAYOUT" = lvm ]; then
  pvcreate -ff -y "$root_part"
  vgcreate pxed "$root_part"
  if [ "$PXED_SWAP_MB" -gt 0 ]; then
    lvcreate -y -L "${PXED_SWAP_MB}M" -n swap pxed
    swap_dev=/dev/pxed/swap
  fi
  lvcreate -y -l 100%FREE -n root pxed
  root_dev=/dev/pxed/root
else
  root_dev=$root_part
  if [ "$PXED_SWAP_MB" -gt 0 ]; then swap_dev=$(part "$PXED_DISK" 3); fi
fi
mkfs.ext4 -F -L nixos "$root_dev"
if [ -n "$swap_dev" ]; then mkswap -L swap "$swap_dev"; fi

step=mount
mount "$root_dev" "$root"
if [ "$efi" = true ]; then
  mkdir -p "$root/boot"
  mount -o umask=0077 "$boot_part" "$root/boot"
fi
if [ -n "$swap_dev" ]; then swapon "$swap_dev"; fi

step=generate-config
nixos-generate-config --root "$root"

step=fetch-config
curl -fsS --retry 5 --max-time 60 -o "$root/etc/nixos/configuration.nix" "${PXED_BASE_URL}configuration.nix"
curl -fsS --retry 5 --max-time 60 -o "$root/etc/nixos/host.json" "${PXED_BASE_URL}host.json"
# Firmware type and disk for the boot loader; the disk path was checked against a safe character set above.
printf '{"efi": %s, "disk": "%s"}\n' "$efi" "$PXED_DISK" > "$root/etc/nixos/pxed-install.json"

step=nixos-install
nixos-install --root "$root" --no-root-passwd

step=phone-home
trap - EXIT
report installed "nixos-install done"
sync
reboot
