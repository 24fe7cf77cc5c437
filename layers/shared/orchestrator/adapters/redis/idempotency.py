"""Powertools Idempotency's records in Redis (orchestrator.idempotency decides what is idempotent and on which key)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency.persistence.cache import CachePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from .client import get_redis


class CacheLayerKeepingValidation(CachePersistenceLayer):
    """Powertools' cache layer rewrites a completed record without the payload validation hash, so an identical
    retry then fails validation (the same bug as powertools-lambda-typescript#5705, fixed there; present in the
    Python release we pin). Keep the hash on completion."""

    def _update_record(self, data_record: DataRecord) -> None:
        mapping = {self.data_attr: data_record.response_data, self.status_attr: data_record.status,
                   self.expiry_attr: data_record.expiry_timestamp}
        if self.payload_validation_enabled:
            mapping[self.validation_key_attr] = data_record.payload_hash
        self.client.set(name=data_record.idempotency_key, value=self._json_serializer(mapping),
                        ex=self._get_expiry_second(data_record.expiry_timestamp))


def idempotency_store() -> CachePersistenceLayer:
    """A persistence layer per idempotent function: Powertools configures a layer once, with the config of the
    first function that uses it, so a shared one would give every function that first config."""
    return CacheLayerKeepingValidation(client=get_redis())
