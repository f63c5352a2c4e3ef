"""Ray Serve: the Detector deployment, the Api ingress (the HTTP API, `create_app()` with one router per resource,
the operator page) and `app.py`, the bound application KubeRay imports."""
