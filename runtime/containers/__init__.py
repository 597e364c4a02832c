"""Containers: secure spec defaults, the launch plan, and the one linear init sequence run inside a container."""
