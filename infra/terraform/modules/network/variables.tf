variable "name_prefix" {
  description = "Prefix for every resource name, e.g. azcops-dev."
  type        = string
}

variable "location" {
  description = "Azure region."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group that holds the network."
  type        = string
}

variable "address_space" {
  description = "Address space of the virtual network."
  type        = list(string)
}

variable "function_subnet_prefix" {
  description = "CIDR of the subnet delegated to the Function App's VNet integration (Microsoft.App/environments). Flex Consumption takes one address per instance, so size it for maximum_instance_count."
  type        = string
}

variable "private_endpoint_subnet_prefix" {
  description = "CIDR of the subnet holding the Storage and Key Vault private endpoints."
  type        = string
}

variable "postgres_subnet_prefix" {
  description = "CIDR of the subnet holding the PostgreSQL private endpoint."
  type        = string
}

variable "egress_nat_gateway" {
  description = "Route the app subnet's internet egress through a NAT gateway with a static public IP. Otherwise the subnet keeps default outbound access, which the app needs to reach Azure Resource Manager, Entra ID and the Retail Prices API."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
