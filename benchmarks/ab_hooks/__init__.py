"""Code the telemetry A/B benchmark loads into the API servers it starts (see sitecustomize)."""
