# A hand-run example of the module (pxed writes its own per-host roots as JSON). Credentials come only from the
# environment: PROXMOX_VE_ENDPOINT and PROXMOX_VE_API_TOKEN (user@realm!id=secret).

provider "proxmox" {}

module "vm" {
  source      = "../../modules/proxmox_vm"
  name        = "web-01"
  node_name   = "pve1"
  cores       = 2
  memory_mb   = 4096
  boot_method = "pxe"
  disks       = [{ size_gb = 50, datastore_id = "local-lvm", interface = "scsi" }]
  network_devices = [{
    bridge      = "vmbr0"
    vlan_id     = null
    model       = "virtio"
    mac_address = "02:94:7c:99:c7:09"
    mtu         = null
  }]
}

output "vm_id" {
  value = module.vm.vm_id
}

output "mac_addresses" {
  value = module.vm.mac_addresses
}
