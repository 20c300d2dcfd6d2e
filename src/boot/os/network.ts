// The host's network model turned into a neutral list of links, shared by the netplan (Ubuntu) and networkd
// (NixOS) renderers so both OSes agree on which NIC carries the address.
//
// Rules (documented in README "Network on installed systems"):
// - install.network.interfaces given: one ethernet per listed name (matched by name); the first carries the address.
// - otherwise: one ethernet per NIC with a MAC (netifs[].mac, else host.mac, else the MAC that booted), matched by
//   MAC with ids nic0, nic1, ...; the NIC whose MAC is the host's PXE MAC carries the address.
// - the address is DHCPv4 (network.dhcp) or static address_cidr + default route via gateway; dns/domain become
//   nameservers/search on that link. Other links use DHCP as optional links when dhcp is true, else stay address-less.
// - VLANs: on Proxmox the bridge applies netifs[].vlan (the guest sees untagged frames), so only bare metal gets a
//   guest VLAN link `<id>.<vlan>`; it then carries that NIC's addressing and the raw NIC stays address-less.
// - MTU from netifs[].mtu goes on the ethernet (and its VLAN).

import type { HostSpec } from '../../config/provisioning.js';
import { invalid } from './context.js';

export type Addressing = 'primary' | 'dhcp-optional' | 'none';

export interface LinkPlan {
  /** netplan id / networkd name; for name-matched ethernets it is the interface name itself. */
  id: string;
  kind: 'ethernet' | 'vlan';
  /** Ethernets: how to find the NIC. `name` = exact kernel name. */
  match: { macaddress: string } | { name: string } | null;
  /** VLAN links: tag and parent link id. */
  vlan: { id: number; link: string } | null;
  mtu: number | null;
  addressing: Addressing;
}

export interface NetworkPlan {
  links: LinkPlan[];
  dhcp: boolean;
  /** Static only: address with prefix, e.g. 192.0.2.10/24. */
  addressCidr: string | null;
  gateway: string | null;
  nameservers: string[];
  search: string[];
}

export function planNetwork(host: HostSpec, bootMac: string): NetworkPlan {
  const net = host.install.network;
  if (!net.dhcp && net.address_cidr === null) {
    throw invalid('install.network.address_cidr', 'static addressing (dhcp: false) needs address_cidr');
  }
  const links: LinkPlan[] = [];
  const other: Addressing = net.dhcp ? 'dhcp-optional' : 'none';
  if (net.interfaces.length > 0) {
    net.interfaces.forEach((name, i) => {
      links.push({ id: name, kind: 'ethernet', match: { name }, vlan: null, mtu: null, addressing: i === 0 ? 'primary' : other });
    });
  } else {
    const primaryMac = host.mac ?? bootMac;
    const nics = host.netifs.filter((n) => n.mac !== null);
    const list = nics.length > 0 ? nics : [{ mac: primaryMac, vlan: null, mtu: null }];
    let primaryIndex = list.findIndex((n) => n.mac === primaryMac);
    if (primaryIndex < 0) primaryIndex = 0;
    list.forEach((nic, i) => {
      const id = `nic${i}`;
      const addressing: Addressing = i === primaryIndex ? 'primary' : other;
      const guestVlan = host.hypervisor === 'baremetal' && nic.vlan !== null ? nic.vlan : null;
      links.push({
        id,
        kind: 'ethernet',
        match: { macaddress: nic.mac! },
        vlan: null,
        mtu: nic.mtu,
        addressing: guestVlan === null ? addressing : 'none',
      });
      if (guestVlan !== null) {
        links.push({ id: `${id}.${guestVlan}`, kind: 'vlan', match: null, vlan: { id: guestVlan, link: id }, mtu: nic.mtu, addressing });
      }
    });
  }
  return {
    links,
    dhcp: net.dhcp,
    addressCidr: net.dhcp ? null : net.address_cidr,
    gateway: net.gateway,
    nameservers: [...net.dns],
    search: net.domain === null ? [] : [net.domain],
  };
}
