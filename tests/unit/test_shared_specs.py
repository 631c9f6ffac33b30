"""A version's spec is restored once per process for every cache preparing it alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.definitions import collect_files, validate_files
from engine.definitions.shared_specs import forget_restored_specs, restored_specs
from engine.sandbox import SandboxLimits
from engine.sandbox.case_limits import bound_collections
from engine.store.serialization import ProcessSpecs, specs_to_json
from processes.roles import role_for_lane
from tests.conftest import ROOT


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    forget_restored_specs()
    yield
    forget_restored_specs()


@pytest.fixture(scope="module")
def spec_json() -> dict[str, str]:
    files, problems = collect_files([ROOT / "tests" / "fixtures" / "runtime"])
    assert not problems
    result = validate_files(files, role_for_lane)
    assert result.ok
    return {bundle.key: specs_to_json(bundle.specs) for bundle in result.bundles}


class Preparing:
    """Bounds loops to the limits given, and counts the specs it prepared."""

    def __init__(self, limits: SandboxLimits) -> None:
        self.limits = limits
        self.prepared: list[ProcessSpecs] = []

    def __call__(self, specs: ProcessSpecs) -> None:
        bound_collections(specs, self.limits)
        self.prepared.append(specs)


def test_the_same_spec_prepared_alike_is_restored_once(spec_json: dict[str, str]) -> None:
    limits = SandboxLimits()
    first, second = Preparing(limits), Preparing(SandboxLimits())
    specs = restored_specs(spec_json["mini"], first, limits)
    assert restored_specs(spec_json["mini"], second, SandboxLimits()) is specs
    assert first.prepared == [specs] and second.prepared == []
    assert specs.spec.name == "mini"


def test_another_spec_or_other_limits_are_restored_and_prepared_again(spec_json: dict[str, str]) -> None:
    limits, tighter = SandboxLimits(), SandboxLimits(max_loop_count=5)
    preparing = Preparing(limits)
    mini = restored_specs(spec_json["mini"], preparing, limits)
    lookup = restored_specs(spec_json["lookup"], preparing, limits)
    assert lookup is not mini and lookup.spec.name == "lookup"
    bounded = Preparing(tighter)
    other = restored_specs(spec_json["mini"], bounded, tighter)
    assert other is not mini and bounded.prepared == [other]
    assert preparing.prepared == [mini, lookup]
