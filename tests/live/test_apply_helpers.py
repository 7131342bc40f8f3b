"""The judgements test_platform_apply.py relies on, checked without a cluster: a helper that
called everything ready, or summed requests wrongly, would make the live test prove nothing."""

from __future__ import annotations

import pytest

from tests.live import apply_helpers as ah


@pytest.mark.parametrize(
    ("text", "value"),
    [("100m", 0.1), ("2", 2.0), ("1.5", 1.5), ("256Mi", 256 * 2**20), ("4Gi", 4 * 2**30)],
)
def test_quantity(text: str, value: float) -> None:
    assert ah.quantity(text) == pytest.approx(value)


def deployment(available: int, want: int = 1, condition: str = "True") -> ah.Obj:
    return {
        "kind": "Deployment",
        "metadata": {"namespace": "ns", "name": "d", "generation": 2},
        "spec": {"replicas": want},
        "status": {
            "observedGeneration": 2,
            "updatedReplicas": available,
            "availableReplicas": available,
            "conditions": [{"type": "Available", "status": condition}],
        },
    }


def test_a_deployment_is_done_only_with_every_replica_available() -> None:
    assert ah._judge(deployment(2, want=2)).done
    assert not ah._judge(deployment(1, want=2)).done
    assert not ah._judge(deployment(1, condition="False")).done
    stale = deployment(1)
    stale["status"]["observedGeneration"] = 1
    assert not ah._judge(stale).done


def test_a_job_is_done_only_when_complete() -> None:
    job = {"kind": "Job", "metadata": {"namespace": "ns", "name": "j"}, "status": {"active": 1}}
    assert not ah._judge(job).done
    job["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    assert ah._judge(job).done


def test_pod_requests_count_the_largest_init_container() -> None:
    pod = {
        "spec": {
            "containers": [
                {"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                {"resources": {"requests": {"cpu": "50m"}}},
            ],
            "initContainers": [{"resources": {"requests": {"cpu": "10m", "memory": "1Gi"}}}],
        }
    }
    cpu, mem = ah._pod_requests(pod)
    assert cpu == pytest.approx(0.15) and mem == 2**30


def test_render_placeholders_become_random_values() -> None:
    secret = {"kind": "Secret", "stringData": {"a": "<redacted: generated at deploy time>"}}
    filled = ah._fill_placeholders(secret)
    assert len(filled["stringData"]["a"]) == 32 and "redacted" not in filled["stringData"]["a"]
