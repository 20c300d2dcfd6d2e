# pxed: configuration of a NixOS host installed over the network.
#
# This file is static and the same for every host. Per-host values come from JSON files beside it, so no
# user-supplied string is ever spliced into Nix source:
#   host.json          written by pxed (GET /nixos/<token>/host.json): host name, users, network, packages, services
#   pxed-install.json  written by install.sh: {"efi": bool, "disk": "/dev/..."} (firmware type and target disk)
#   hardware-configuration.nix  written by nixos-generate-config
{ config, lib, pkgs, ... }:

let
  host = builtins.fromJSON (builtins.readFile ./host.json);
  install =
    if builtins.pathExists ./pxed-install.json
    then builtins.fromJSON (builtins.readFile ./pxed-install.json)
    else { efi = true; disk = null; };
  net = host.network;

  shellName = u: baseNameOf u.shell;
  shellFor = u:
    if shellName u == "zsh" then pkgs.zsh
    else if shellName u == "fish" then pkgs.fish
    else pkgs.bashInteractive;
  anyShell = name: lib.any (u: shellName u == name) host.users;

  userFor = u: {
    name = u.name;
    value = {
      isNormalUser = true;
      shell = shellFor u;
      extraGroups = lib.optional u.sudo "wheel" ++ lib.optional host.docker "docker";
      openssh.authorizedKeys.keys = u.keys;
    } // lib.optionalAttrs (u.hashedPassword != null) { hashedPassword = u.hashedPassword; };
  };

  # Links as planned by pxed (src/boot/os/network.ts), rendered for systemd-networkd.
  vlansOf = l: builtins.filter (v: v.kind == "vlan" && v.vlan.link == l.id) net.links;
  isPrimary = l: l.addressing == "primary";
  usesDhcp = l: (isPrimary l && net.dhcp) || l.addressing == "dhcp-optional";
  networkFor = l: {
    name = "30-pxed-${l.id}";
    value = {
      matchConfig =
        if l.kind == "vlan" then { Name = l.id; }
        else if l.match ? macaddress then { MACAddress = l.match.macaddress; Type = "ether"; }
        else { Name = l.match.name; };
      vlan = map (v: v.id) (vlansOf l);
      networkConfig.DHCP = if usesDhcp l then "ipv4" else "no";
      address = lib.optional (isPrimary l && !net.dhcp) net.addressCidr;
      gateway = lib.optional (isPrimary l && !net.dhcp && net.gateway != null) net.gateway;
      dns = lib.optionals (isPrimary l) net.nameservers;
      domains = lib.optionals (isPrimary l) net.search;
      linkConfig = { RequiredForOnline = if isPrimary l then "routable" else "no"; }
        // lib.optionalAttrs (l.mtu != null) { MTUBytes = toString l.mtu; };
    };
  };
  netdevFor = l: {
    name = "20-pxed-${l.id}";
    value = {
      netdevConfig = { Kind = "vlan"; Name = l.id; };
      vlanConfig.Id = l.vlan.id;
    };
  };

  # nix_services: "a.b" enables services.a.b.enable.
  serviceFor = s: lib.setAttrByPath (lib.splitString "." s) { enable = true; };
in
{
  imports = [ ./hardware-configuration.nix ];

  config = lib.mkMerge ([
    {
      boot.loader =
        if install.efi then {
          systemd-boot.enable = true;
          efi.canTouchEfiVariables = true;
        } else {
          grub.enable = true;
          grub.device = install.disk;
        };

      networking.hostName = host.hostname;
      networking.domain = host.domain;
      networking.useDHCP = false;
      networking.useNetworkd = true;
      networking.nameservers = net.nameservers;
      networking.search = net.search;
      systemd.network.enable = true;
      systemd.network.netdevs = builtins.listToAttrs (map netdevFor (builtins.filter (l: l.kind == "vlan") net.links));
      systemd.network.networks = builtins.listToAttrs (map networkFor net.links);

      users.users = builtins.listToAttrs (map userFor host.users);
      # A sudo user without a password could never use sudo otherwise.
      security.sudo.wheelNeedsPassword = !(lib.any (u: u.sudo && u.hashedPassword == null) host.users);
      programs.zsh.enable = anyShell "zsh";
      programs.fish.enable = anyShell "fish";

      services.openssh.enable = true;
      services.openssh.settings.PermitRootLogin = "no";
      virtualisation.docker.enable = host.docker;
      environment.systemPackages = map (p: lib.getAttrFromPath (lib.splitString "." p) pkgs) host.packages;

      # The release of the installer when the install entry's version is not a release (e.g. "unstable").
      system.stateVersion = if host.stateVersion != null then host.stateVersion else lib.trivial.release;
    }
  ] ++ map (s: { services = serviceFor s; }) host.services);
}
