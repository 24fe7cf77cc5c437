"""AWS SDK adapters (every client is built with connect/read timeouts)."""
