"""Torch-free runtime and HTTP server for exported artifacts (see the serving issue)."""
