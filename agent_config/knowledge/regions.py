"""Offline Regions and regional availability, answered in the remote server's vocabulary.

The remote AWS Knowledge server looks availability up in AWS's live catalogue; offline we can only
approximate it from a small bundled data set (`regions.json`): the commercial Regions, and for the
services the corpus covers, whether each is offered everywhere or in a listed set of Regions.
Everything this module returns says so (`OFFLINE_NOTICE`), and the statuses use the remote's words
(`isAvailableIn`, `isNotAvailableIn`, `Not Found`) so callers parse one format.

Pure Python, no MCP: the server in `server.py` only wraps these functions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import Any

from agent_config.knowledge.models import Product, Region

REGIONS_FILE = "regions.json"

OFFLINE_NOTICE = (
    "Offline approximation from the agent's bundled data set (commercial Regions as of mid-2026); "
    "the remote AWS Knowledge server is authoritative."
)

MAX_REGIONS = 10
"""The remote server accepts at most ten Regions per call."""

AVAILABLE = "isAvailableIn"
NOT_AVAILABLE = "isNotAvailableIn"
NOT_FOUND = "Not Found"


class ResourceType(StrEnum):
    """What `aws___get_regional_availability` can be asked about, and the key its answer uses."""

    PRODUCT = "product"
    API = "api"
    CFN = "cfn"

    @property
    def result_key(self) -> str:
        return {
            ResourceType.PRODUCT: "products",
            ResourceType.API: "service_apis",
            ResourceType.CFN: "cfn_resources",
        }[self]


class AvailabilityError(ValueError):
    """A request the remote server would also reject (bad resource type, too many Regions, ...)."""


@dataclass(frozen=True, slots=True)
class Availability:
    """An answer: one status per name (one Region) or per name and Region (several)."""

    resource_type: ResourceType
    statuses: dict[str, str] | dict[str, dict[str, str]]
    failed_regions: tuple[str, ...] = ()

    def as_result(self) -> dict[str, Any]:
        """The remote's `content.result` object for this answer."""
        result: dict[str, Any] = {self.resource_type.result_key: self.statuses}
        if self.failed_regions:
            result["failed_regions"] = list(self.failed_regions)
        return result


class RegionCatalogue:
    """Regions and product availability from the bundled data set."""

    def __init__(self, regions: Sequence[Region], products: Sequence[Product]) -> None:
        self.regions: tuple[Region, ...] = tuple(regions)
        self.products: tuple[Product, ...] = tuple(products)
        self._region_ids = {region.region_id for region in self.regions}
        self._by_name = {product.name: product for product in self.products}
        self._by_sdk_id = {sid.lower(): p for p in self.products for sid in p.sdk_service_ids}
        self._by_cfn = {svc.lower(): p for p in self.products for svc in p.cfn_services}

    def is_region(self, region_id: str) -> bool:
        return region_id in self._region_ids

    def availability(
        self, resource_type: str, regions: Sequence[str], filters: Sequence[str] | None = None
    ) -> Availability:
        """Statuses for `filters` (or every known name, single Region only) in `regions`."""
        try:
            kind = ResourceType(resource_type)
        except ValueError:
            raise AvailabilityError(
                f"resource_type must be one of {[t.value for t in ResourceType]}, not {resource_type!r}"
            ) from None
        wanted = list(dict.fromkeys(region.strip() for region in regions if region.strip()))
        if not wanted:
            raise AvailabilityError("regions is required: give one or more Region codes, e.g. ['us-east-1']")
        if len(wanted) > MAX_REGIONS:
            raise AvailabilityError(f"at most {MAX_REGIONS} regions per call, got {len(wanted)}")
        if len(wanted) > 1 and not filters:
            raise AvailabilityError("several regions need filters; without filters ask for a single region")
        known = [region for region in wanted if self.is_region(region)]
        failed = tuple(region for region in wanted if not self.is_region(region))
        if not known:
            raise AvailabilityError(f"unknown region(s) {list(failed)}; aws___list_regions gives valid codes")
        names = list(dict.fromkeys(filters)) if filters else self._all_names(kind)
        per_name = {name: {region: self._status(kind, name, region) for region in known} for name in names}
        if len(wanted) == 1:
            return Availability(kind, {name: by_region[known[0]] for name, by_region in per_name.items()})
        return Availability(kind, per_name, failed)

    def _all_names(self, kind: ResourceType) -> list[str]:
        if kind is ResourceType.PRODUCT:
            return [product.name for product in self.products]
        if kind is ResourceType.API:
            return [sid for product in self.products for sid in product.sdk_service_ids]
        return [f"AWS::{svc}::*" for product in self.products for svc in product.cfn_services]

    def _product_for(self, kind: ResourceType, name: str) -> Product | None:
        if kind is ResourceType.PRODUCT:
            return self._by_name.get(name)
        if kind is ResourceType.API:
            # 'SdkServiceId+Operation' or 'SdkServiceId'; operations are not checked offline.
            return self._by_sdk_id.get(name.split("+", 1)[0].strip().lower())
        parts = name.split("::")
        return self._by_cfn.get(parts[1].lower()) if len(parts) == 3 and parts[0] == "AWS" else None

    def _status(self, kind: ResourceType, name: str, region: str) -> str:
        product = self._product_for(kind, name)
        if product is None:
            return NOT_FOUND
        return AVAILABLE if product.available(region) else NOT_AVAILABLE


def _read_packaged() -> dict[str, Any]:
    text = resources.files(__package__ or "agent_config.knowledge").joinpath(REGIONS_FILE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


_lock = threading.Lock()
_catalogue: RegionCatalogue | None = None


def load_catalogue() -> RegionCatalogue:
    """The bundled Region catalogue, validated on first use and shared afterwards."""
    global _catalogue  # noqa: PLW0603 - one process-wide, read-only cache is the point
    if _catalogue is None:
        with _lock:
            if _catalogue is None:
                raw = _read_packaged()
                _catalogue = RegionCatalogue(
                    [Region.model_validate(item) for item in raw["regions"]],
                    [Product.model_validate(item) for item in raw["products"]],
                )
    return _catalogue
