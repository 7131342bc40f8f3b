"""The renders shared by the render tests: each variant is rendered once per session."""

from __future__ import annotations

import pytest
import yaml
from render_helpers import VARIANTS

from mlplat.render import RenderOptions, RenderSummary, render_platform


@pytest.fixture(scope="session")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RenderSummary]:
    root = tmp_path_factory.mktemp("renders")
    out: dict[str, RenderSummary] = {}
    for name, (data, profile) in VARIANTS.items():
        config = None
        if data is not None:
            config = root / f"{name}.yaml"
            config.write_text(yaml.safe_dump(data), encoding="utf-8")
        options = RenderOptions(out_dir=root / "out" / name, config_path=config, profile=profile)
        out[name] = render_platform(options)
    return out
