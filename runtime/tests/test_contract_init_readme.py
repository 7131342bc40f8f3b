"""``make contract`` rewrites the README's request examples from the user's data, and only those.

A throwaway project (an unedited contract, a config, a README with the marked block around
examples for other data) gets a table with a key, features and the target; the examples
written are then sent to a real server holding a model of that contract, as pasted.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlplat_runtime.contract_file import render_contract
from mlplat_runtime.contract_init import main
from mlplat_runtime.readme_examples import END, START, render_examples, replace_block
from mlplat_runtime.rules import Column

PACKAGE = "churn"
OWNER_TEXT = "# Churn\n\nOur own words, kept as they are.\n\n## Serving\n\n"
OLD = "\nWith `make serve` running:\n\n```bash\ncurl -s localhost:8080/old\n```\n\n"
AFTER = "\n## Our own section\n\nAlso kept.\n"


def table(n_rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    tenure = rng.integers(1, 60, n_rows)
    spend = np.round(rng.gamma(2.0, 40.0, n_rows), 2)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n_rows)],
            "tenure_months": tenure,
            "monthly_spend": spend,
            "support_calls": rng.integers(0, 8, n_rows),
            "churned": (rng.random(n_rows) < 1 / (1 + np.exp(0.05 * tenure - 1))).astype(int),
        }
    )
    frame.loc[0, "monthly_spend"] = np.nan  # the first row is incomplete: the second is shown
    return frame


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "project"
    (root / "src" / PACKAGE).mkdir(parents=True)
    (root / "src" / PACKAGE / "contract.py").write_text(
        render_contract(
            (
                Column(name="y", dtype="int", role="target"),
                Column(name="x", dtype="float", role="feature"),
            ),
            source="test",
        )
    )
    (root / "config.toml").write_text(
        'problem_type = "classification"\n\n[registry]\nmodel_name = "churn-model"\n'
    )
    (root / "README.md").write_text(f"{OWNER_TEXT}{START}{OLD}{END}\n{AFTER}")
    table().to_csv(root / "customers.csv", index=False)
    monkeypatch.setenv("ML_PROJECT_ROOT", str(root))
    monkeypatch.delenv("ML_PROJECT_CONFIG", raising=False)
    return root


def _block(readme: str) -> str:
    return readme.split(START, 1)[1].split(END, 1)[0]


def test_make_contract_rewrites_only_the_marked_block(project: Path, capsys) -> None:
    args = ["--package", PACKAGE, "customers.csv", "--target", "churned", "--key", "customer_id"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "README.md: request examples written from row 2 of the data" in out
    readme = (project / "README.md").read_text()
    assert readme.startswith(OWNER_TEXT + START) and readme.endswith(END + "\n" + AFTER)
    block = _block(readme)
    assert "/old" not in block and "localhost:8080/v2/models/churn-model" in block
    split = json.loads(re.search(r"-d '(\{\"dataframe_split\".*)'", block)[1])  # type: ignore[index]
    assert split["dataframe_split"]["columns"][0] == "customer_id"
    assert split["dataframe_split"]["data"][0][0] == "C00001"  # row 2: row 1 misses a feature
    assert "churned" not in block  # features and key only
    # Rerun on the same data: the same README.
    assert main(args) == 0
    assert (project / "README.md").read_text() == readme


def test_without_markers_the_readme_is_left_alone_and_that_is_said(project: Path, capsys) -> None:
    path = project / "README.md"
    path.write_text(OWNER_TEXT + OLD)
    assert main(["--package", PACKAGE, "customers.csv", "--target", "churned"]) == 0
    out = capsys.readouterr().out
    assert f"README.md has no {START} ... {END} block" in out
    assert path.read_text() == OWNER_TEXT + OLD


def test_markers_out_of_order_or_twice_are_not_markers() -> None:
    assert replace_block(f"a{END}b{START}c", "X") is None
    assert replace_block(f"{START}{START}b{END}", "X") is None
    assert replace_block(f"a{START}old{END}b", "X") == f"a{START}X{END}b"


def test_text_and_awkward_values_make_no_unpasteable_example() -> None:
    frame = pd.DataFrame(
        {
            "id": ["it's", "k-2", "k-3"],
            "x": [1.5, 2.5, 3.5],
            "city": ["Paris", "Oslo, Norway", "100%"],
        }
    )
    written = render_examples(frame, features=["x", "city"], key="id", model_name="m")
    assert written is not None and written.rows == (1,)  # a quote in row 1, a % in row 3
    assert "/v2/models/m/infer" not in written.text  # a text feature: no FP64 tensor example
    assert 'k-2,2.5,"Oslo, Norway"' in written.text  # the CSV field with a comma is quoted
    nothing = render_examples(frame.assign(x=np.nan), features=["x"], key="id", model_name="m")
    assert nothing is None


def _commands(block: str) -> list[list[str]]:
    code = block.split("```bash", 1)[1].split("```")[0]
    lines = code.replace("\\\n", " ").splitlines()
    return [shlex.split(line.split("|", 1)[-1], comments=True) for line in lines if "curl" in line]


def test_the_written_examples_answer_200_from_a_model_of_that_contract(project: Path) -> None:
    """As pasted: every curl of the block, against the server a project runs."""
    import sys

    from sklearn.linear_model import LogisticRegression

    sys.path.insert(0, str(Path(__file__).parent / "serving"))
    from serving_harness import Harness

    from mlplat_runtime.serving.model import LoadedModel
    from mlplat_runtime.serving.settings import ServeSettings

    args = ["--package", PACKAGE, "customers.csv", "--target", "churned", "--key", "customer_id"]
    assert main(args) == 0
    block = _block((project / "README.md").read_text())
    features = ("tenure_months", "monthly_spend", "support_calls")
    data = table().dropna()
    fitted = LogisticRegression(max_iter=500).fit(
        data[list(features)].to_numpy(dtype=np.float64), data["churned"]
    )
    model = LoadedModel(
        name="churn-model",
        version="1",
        uri="memory:",
        estimator=fitted,
        features=features,
        key="customer_id",
        problem_type="classification",
        check=lambda rows: [],
    )
    server = Harness(lambda: model, ServeSettings(port=0, log_dir=None))
    try:
        server.wait_ready()
        commands = _commands(block)
        assert len(commands) == 4
        for argv in commands:
            path = next(a for a in argv if a.startswith("localhost:")).removeprefix(
                "localhost:8080"
            )
            if "--data-binary" in argv:
                payload = re.search(r"printf '([^']*)' \| curl", block)[1]  # type: ignore[index]
                body = payload.encode().decode("unicode_escape").encode()
                resp = server.request("POST", path, body, headers={"Content-Type": "text/csv"})
            elif "-d" in argv:
                resp = server.request("POST", path, argv[argv.index("-d") + 1].encode())
            else:
                resp = server.request("GET", path)
            assert resp.status == 200, (argv, resp.json)
    finally:
        server.stop()
