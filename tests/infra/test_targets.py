"""What the deploy builds ARNs from, and the zips it uploads (infra/localcloud/targets.py); no endpoint needed."""

from __future__ import annotations

import os
from typing import Any

from localcloud.targets import _sha256, _zip_tree, identify


class _Sts:
    def __init__(self, arn: str):
        self._arn = arn

    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": self._arn.split(":")[4], "Arn": self._arn, "UserId": "x"}


class _Target:
    def __init__(self, arn: str, region: str):
        self.region, self._sts = region, _Sts(arn)

    def client(self, service: str) -> Any:
        assert service == "sts"
        return self._sts


def test_arns_use_the_account_partition_and_region_the_endpoint_reports():
    identity = identify(_Target("arn:aws-us-gov:iam::111122223333:user/ci", "us-gov-west-1"))
    assert identity.arn("lambda", "function:f") == "arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:f"
    assert identity.arn("iam", "role/r", regional=False) == "arn:aws-us-gov:iam::111122223333:role/r"


def test_a_zip_depends_on_the_files_contents_not_their_timestamps(tmp_path):
    """An unchanged layer must hash the same on the next deploy, or every deploy publishes a new version."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("VALUE = 1\n")
    first = _zip_tree(tmp_path)
    os.utime(tmp_path / "pkg" / "mod.py", (1_000_000_000, 1_000_000_000))  # 2001
    assert _sha256(_zip_tree(tmp_path)) == _sha256(first)
    (tmp_path / "pkg" / "mod.py").write_text("VALUE = 2\n")
    assert _sha256(_zip_tree(tmp_path)) != _sha256(first)
