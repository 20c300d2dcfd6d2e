output "vm_id" {
  description = "The Proxmox VM id."
  value       = proxmox_virtual_environment_vm.vm.vm_id
}

output "mac_addresses" {
  description = "MAC address of each network device, in order (lower case)."
  value       = [for n in proxmox_virtual_environment_vm.vm.network_device : lower(n.mac_address)]
}
