"""SatuAtap's Django project and control plane (import name ``mpp``)."""
