"""Every batch command's family, by command: the families of :mod:`._batch_family` and the Call Fabric one."""

from __future__ import annotations

from collections.abc import Mapping

from ._batch_family import BASE_FAMILIES, BatchFamily
from ._fabric_family import SubscriberFamily

__all__ = ["FAMILIES"]

FAMILIES: Mapping[str, BatchFamily] = {**BASE_FAMILIES, "subscriber-token": SubscriberFamily()}
