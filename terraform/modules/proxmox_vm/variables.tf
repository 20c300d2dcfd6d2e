# Inputs of one Proxmox VM. pxed's orchestrator writes them per host into build/<host>/tf/main.tf.json
# (generated as JSON, never templated); test/orchestrator compares this list with what it passes, both ways.

variable "name" {
  description = "VM name (the host name, an RFC 1123 label)."
  type        = string
}

variable "node_name" {
  description = "Proxmox node the VM lives on."
  type        = string
}

variable "vm_id" {
  description = "Proxmox VM id; null lets Proxmox pick the next free one."
  type        = number
  default     = null
}

variable "pool_id" {
  description = "Proxmox resource pool; null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Proxmox tags."
  type        = list(string)
  default     = []
}

variable "cores" {
  description = "vCPU cores."
  type        = number
}

variable "memory_mb" {
  description = "Dedicated memory in MiB."
  type        = number
}

variable "bios" {
  description = "ovmf (UEFI, with an EFI vars disk) or seabios."
  type        = string
  default     = "ovmf"
  validation {
    condition     = contains(["ovmf", "seabios"], var.bios)
    error_message = "bios must be ovmf or seabios."
  }
}

variable "efi_datastore_id" {
  description = "Datastore of the EFI vars disk (bios = ovmf)."
  type        = string
  default     = "local-lvm"
}

variable "disks" {
  description = "Disks in order: scsi0/virtio0/sata0, ... The first one is the boot disk."
  type = list(object({
    size_gb      = number
    datastore_id = string
    interface    = string
  }))
}

variable "network_devices" {
  description = "One per NIC. mac_address is always set: pxed derives a stable one from the host name when none is configured, so it knows the MAC before the VM exists."
  type = list(object({
    bridge      = string
    vlan_id     = number
    model       = string
    mac_address = string
    mtu         = number
  }))
}

variable "boot_method" {
  description = "pxe: empty disk, boots from the network; iso: installer ISO + NoCloud cidata seed ISO; image: cloud image disk + cloud-init snippet."
  type        = string
  validation {
    condition     = contains(["pxe", "iso", "image"], var.boot_method)
    error_message = "boot_method must be pxe, iso or image."
  }
}

variable "iso_datastore_id" {
  description = "Datastore (content type iso) for downloaded installer ISOs, cloud images and the cidata seed ISO."
  type        = string
  default     = "local"
}

variable "snippets_datastore_id" {
  description = "Datastore with the snippets content type enabled (boot_method image)."
  type        = string
  default     = "local"
}

variable "iso_url" {
  description = "Installer ISO URL (boot_method iso)."
  type        = string
  default     = null
}

variable "cidata_iso_path" {
  description = "Local path of the NoCloud seed ISO (volume id cidata) pxed built (boot_method iso); uploaded to iso_datastore_id."
  type        = string
  default     = null
}

variable "image_url" {
  description = "Cloud image URL imported as the boot disk (boot_method image without template_vm_id)."
  type        = string
  default     = null
}

variable "template_vm_id" {
  description = "boot_method image: the cloud-image template VM to clone in full; null imports image_url as the first disk instead."
  type        = number
  default     = null
}

variable "network_config" {
  description = "boot_method image: cloud-init network config (v2) uploaded as a snippet; null for DHCP on the first NIC."
  type        = string
  default     = null
}

variable "user_data" {
  description = "cloud-init user-data uploaded as a snippet (boot_method image)."
  type        = string
  default     = null
  sensitive   = true
}

variable "agent_enabled" {
  description = "QEMU guest agent. Off while installing over PXE: without an agent in the guest, create/refresh waits on it."
  type        = bool
  default     = false
}
