# One Proxmox VM on the bpg/proxmox provider (proxmox_virtual_environment_vm), shaped for pxed:
# - UEFI (ovmf) keeps an efi_disk: without it OVMF's boot entries live in volatile vars and are lost on every stop.
#   pre_enrolled_keys = false leaves Secure Boot off so unsigned iPXE boots.
# - boot_order disk first, then network: an empty disk falls through to PXE, an installed one boots itself.
# - boot_method iso adds the installer ISO (ide2) and the cidata seed ISO (ide3); image imports a cloud image as
#   the first disk and hands cloud-init a user-data snippet through the initialization block.

locals {
  disk_interfaces = [for i, d in var.disks : "${d.interface}${i}"]
  boot_order = concat(
    [local.disk_interfaces[0]],
    var.boot_method == "iso" ? ["ide2"] : [],
    [for i, n in var.network_devices : "net${i}"],
  )
}

resource "proxmox_virtual_environment_download_file" "iso" {
  count        = var.boot_method == "iso" ? 1 : 0
  content_type = "iso"
  datastore_id = var.iso_datastore_id
  node_name    = var.node_name
  url          = var.iso_url
  overwrite    = false
}

resource "proxmox_virtual_environment_file" "cidata" {
  count        = var.boot_method == "iso" ? 1 : 0
  content_type = "iso"
  datastore_id = var.iso_datastore_id
  node_name    = var.node_name
  source_file {
    path      = var.cidata_iso_path
    file_name = "${var.name}-cidata.iso"
  }
}

resource "proxmox_virtual_environment_download_file" "image" {
  count        = var.boot_method == "image" ? 1 : 0
  content_type = "iso"
  datastore_id = var.iso_datastore_id
  node_name    = var.node_name
  url          = var.image_url
  file_name    = "${var.name}-cloudimg.img"
  overwrite    = false
}

resource "proxmox_virtual_environment_file" "user_data" {
  count        = var.boot_method == "image" ? 1 : 0
  content_type = "snippets"
  datastore_id = var.snippets_datastore_id
  node_name    = var.node_name
  source_raw {
    data      = var.user_data
    file_name = "${var.name}-user-data.yaml"
  }
}

resource "proxmox_virtual_environment_vm" "vm" {
  name      = var.name
  node_name = var.node_name
  vm_id     = var.vm_id
  pool_id   = var.pool_id
  tags      = var.tags
  bios      = var.bios
  machine   = "q35"
  started   = true
  on_boot   = true

  cpu {
    cores = var.cores
    type  = "x86-64-v2-AES"
  }

  memory {
    dedicated = var.memory_mb
  }

  agent {
    enabled = var.agent_enabled
  }

  operating_system {
    type = "l26"
  }

  dynamic "efi_disk" {
    for_each = var.bios == "ovmf" ? [1] : []
    content {
      datastore_id      = var.efi_datastore_id
      type              = "4m"
      pre_enrolled_keys = false
    }
  }

  scsi_hardware = "virtio-scsi-single"

  dynamic "disk" {
    for_each = var.disks
    content {
      datastore_id = disk.value.datastore_id
      interface    = local.disk_interfaces[disk.key]
      size         = disk.value.size_gb
      file_format  = "raw"
      file_id      = var.boot_method == "image" && disk.key == 0 ? proxmox_virtual_environment_download_file.image[0].id : null
    }
  }

  dynamic "network_device" {
    for_each = var.network_devices
    content {
      bridge      = network_device.value.bridge
      vlan_id     = network_device.value.vlan_id
      model       = network_device.value.model
      mac_address = network_device.value.mac_address
      mtu         = network_device.value.mtu
    }
  }

  dynamic "cdrom" {
    for_each = var.boot_method == "iso" ? [1] : []
    content {
      file_id   = proxmox_virtual_environment_download_file.iso[0].id
      interface = "ide2"
    }
  }

  # The NoCloud seed (volume id "cidata") on a second drive; cloud-init in the installer finds it by label.
  dynamic "cdrom" {
    for_each = var.boot_method == "iso" ? [1] : []
    content {
      file_id   = proxmox_virtual_environment_file.cidata[0].id
      interface = "ide3"
    }
  }

  dynamic "initialization" {
    for_each = var.boot_method == "image" ? [1] : []
    content {
      datastore_id      = var.snippets_datastore_id
      user_data_file_id = proxmox_virtual_environment_file.user_data[0].id
    }
  }

  boot_order = local.boot_order
}
