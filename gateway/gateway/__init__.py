"""EnvGrid gateway: the one front door. Authenticates callers, signs their identity for the services, routes."""
