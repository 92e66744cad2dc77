"""EnvGrid incidents: reports from patrols, the public and the city, evidence and patrol records."""
