"""The HTTP API (API Gateway REST proxy events) on Powertools' event handler: routers per area, views, errors."""
