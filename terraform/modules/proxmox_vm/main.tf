# One Proxmox VM on the bpg/proxmox provider (proxmox_virtual_environment_vm), shaped for pxed:
# - UEFI (ovmf) keeps an efi_disk: without it OVMF's boot entries live in volatile vars and are lost on every stop.
#   pre_enrolled_keys = false leaves Secure Boot off so unsigned iPXE boots.
# - boot_order disk first, then network: an empty disk falls through to PXE, an installed one boots itself.
# - boot_method iso: the installer ISO in the one cdrom drive (ide2), the NoCloud seed pxed built (volume id cidata)
#   uploaded to the ISO datastore and attached as a small raw disk (sata5); see terraform/README.md for why.
# - boot_method image: a full clone of a cloud-image template (template_vm_id), or the cloud image imported as the
#   first disk; cloud-init gets pxed's user-data (and network config) as snippets through the initialization block.

locals {
  disk_interfaces = [for i, d in var.disks : "${d.interface}${i}"]
  boot_order = concat(
    [local.disk_interfaces[0]],
    var.boot_method == "iso" ? ["ide2"] : [],
    [for i, n in var.network_devices : "net${i}"],
  )
  cloned = var.boot_method == "image" && var.template_vm_id != null
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
    file_name = "${var.name}-cidata.img"
  }
}

resource "proxmox_virtual_environment_download_file" "image" {
  count        = var.boot_method == "image" && !local.cloned ? 1 : 0
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

resource "proxmox_virtual_environment_file" "network_data" {
  count        = var.boot_method == "image" && var.network_config != null ? 1 : 0
  content_type = "snippets"
  datastore_id = var.snippets_datastore_id
  node_name    = var.node_name
  source_raw {
    data      = var.network_config
    file_name = "${var.name}-network-config.yaml"
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

  dynamic "clone" {
    for_each = local.cloned ? [1] : []
    content {
      vm_id = var.template_vm_id
      full  = true
    }
  }

  dynamic "disk" {
    for_each = var.disks
    content {
      datastore_id = disk.value.datastore_id
      interface    = local.disk_interfaces[disk.key]
      size         = disk.value.size_gb
      file_format  = "raw"
      file_id      = var.boot_method == "image" && !local.cloned && disk.key == 0 ? proxmox_virtual_environment_download_file.image[0].id : null
    }
  }

  # The cidata seed as a raw disk: cloud-init's NoCloud datasource finds the label on any block device.
  dynamic "disk" {
    for_each = var.boot_method == "iso" ? [1] : []
    content {
      datastore_id = var.disks[0].datastore_id
      interface    = "sata5"
      size         = 1
      file_format  = "raw"
      file_id      = proxmox_virtual_environment_file.cidata[0].id
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

  # bpg allows one cdrom block; on q35 it must be ide0 or ide2 (terraform/README.md).
  dynamic "cdrom" {
    for_each = var.boot_method == "iso" ? [1] : []
    content {
      file_id   = proxmox_virtual_environment_download_file.iso[0].id
      interface = "ide2"
    }
  }

  # network_data_file_id and ip_config exclude each other: pxed's network config when the host has a static
  # address, else DHCP on the first NIC.
  dynamic "initialization" {
    for_each = var.boot_method == "image" ? [1] : []
    content {
      datastore_id         = var.disks[0].datastore_id
      user_data_file_id    = proxmox_virtual_environment_file.user_data[0].id
      network_data_file_id = var.network_config != null ? proxmox_virtual_environment_file.network_data[0].id : null
      dynamic "ip_config" {
        for_each = var.network_config == null ? [1] : []
        content {
          ipv4 {
            address = "dhcp"
          }
        }
      }
    }
  }

  boot_order = local.boot_order
}
