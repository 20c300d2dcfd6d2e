# Version pins for every per-host root pxed generates (build/<host>/tf/main.tf.json copies these constraints;
# test/orchestrator checks they agree with src/orchestrator/terraform/root.ts).
terraform {
  required_version = ">= 1.5.0, < 2.0.0"
  required_providers {
    proxmox = {
      source  = "bpg/proxmox"
      version = "0.78.2"
    }
  }
}
