"""The twin's shipped tenants and scenarios, inside the package."""
