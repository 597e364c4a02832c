"""Dockerfile builds: parser, .dockerignore, build context, layer cache, the builder and local base images."""
