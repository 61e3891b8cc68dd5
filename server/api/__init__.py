"""REST API for integrations (Flask-AppBuilder APIs, documented in OpenAPI)."""
