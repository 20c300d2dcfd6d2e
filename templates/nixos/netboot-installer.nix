# pxed netboot installer: a NixOS module to add to a netboot image build (see README "NixOS").
#
# At boot it reads `pxed.installer=<url>` from /proc/cmdline (pxed puts it there in the iPXE install script),
# waits for the network, downloads the per-boot install script and runs it with /bin/sh. The script (served by
# pxed at /nixos/<token>/install.sh) partitions, installs, phones home and reboots.
#
# Build (x86_64; aarch64 gives `Image` instead of `bzImage`):
#   nix-build '<nixpkgs/nixos>' -A config.system.build.netbootRamdisk -A config.system.build.kernel \
#     -A config.system.build.netbootIpxeScript --arg configuration ./netboot-installer.nix
{ config, lib, pkgs, modulesPath, ... }:

{
  imports = [ (modulesPath + "/installer/netboot/netboot-minimal.nix") ];

  # The image is stateless; its state version is its own release.
  system.stateVersion = config.system.nixos.release;

  networking.useNetworkd = true;
  # The whole Nix store of the installer lives in RAM; compressed swap in RAM helps nixos-install.
  zramSwap.enable = true;

  systemd.services.pxed-installer = {
    description = "pxed unattended NixOS install";
    wantedBy = [ "multi-user.target" ];
    wants = [ "network-online.target" ];
    after = [ "network-online.target" ];
    # Only when pxed booted us with an installer URL (a bare word also matches `word=value`, systemd.unit(5)).
    unitConfig.ConditionKernelCommandLine = "pxed.installer";
    path = with pkgs; [
      curl coreutils util-linux gawk gnused parted dosfstools e2fsprogs lvm2 systemd config.nix.package
      config.system.build.nixos-install config.system.build.nixos-generate-config
      # Everything else the installer image ships (parted, mkfs.*, ...).
      "/run/current-system/sw"
    ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      StandardOutput = "journal+console";
      StandardError = "journal+console";
    };
    script = ''
      set -eu
      set -f # the command line is split on blanks below, never globbed
      url=""
      for arg in $(cat /proc/cmdline); do
        case "$arg" in
          pxed.installer=*) url="''${arg#pxed.installer=}" ;;
        esac
      done
      if [ -z "$url" ]; then
        echo "pxed: no pxed.installer= on the kernel command line" >&2
        exit 1
      fi
      mkdir -p /run/pxed
      # network-online.target can be reached before the DHCP lease is usable: retry for about two minutes.
      curl -fsSL --retry 24 --retry-delay 5 --retry-connrefused --max-time 60 -o /run/pxed/install.sh "$url"
      exec ${pkgs.runtimeShell} /run/pxed/install.sh
    '';
  };
}
