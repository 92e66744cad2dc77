"""EnvGrid's shared service kit. Import what you need from its modules; nothing happens on import."""
