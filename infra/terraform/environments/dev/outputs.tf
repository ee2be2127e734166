output "resource_group_name" {
  description = "Resource group holding the environment."
  value       = module.azcops.resource_group_name
}

output "function_app_name" {
  description = "Function App to zip-deploy to."
  value       = module.azcops.function_app_name
}

output "function_app_hostname" {
  description = "Default host name of the Function App."
  value       = module.azcops.function_app_hostname
}

output "app_identity_principal_id" {
  description = "principalId for the Lighthouse template."
  value       = module.azcops.app_identity_principal_id
}

output "tenant_id" {
  description = "managedByTenantId for the Lighthouse template."
  value       = module.azcops.tenant_id
}

output "storage_account_name" {
  description = "Host storage and raw layer account."
  value       = module.azcops.storage_account_name
}

output "postgres_fqdn" {
  description = "PostgreSQL server FQDN (private)."
  value       = module.azcops.postgres_fqdn
}

output "postgres_database_name" {
  description = "Database the pipeline migrates."
  value       = module.azcops.postgres_database_name
}

output "postgres_app_role" {
  description = "PostgreSQL role of the app (DML only, granted by infra/sql/app-role.sql)."
  value       = module.azcops.postgres_app_role
}

output "postgres_admin_role" {
  description = "PostgreSQL role of the administrator that runs the migrations."
  value       = module.azcops.postgres_admin_role
}

output "app_setting_names" {
  description = "Every app setting Terraform sets."
  value       = module.azcops.app_setting_names
}
