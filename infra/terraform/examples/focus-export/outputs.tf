output "export_id" {
  description = "Resource id of the export definition."
  value       = azapi_resource.focus_export.id
}
