"""Redis (ElastiCache / Valkey) adapters: client factory and locks with fencing tokens."""
