"""Bad answers are refused by the template's validators, naming the question and the rule."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

Render = Callable[..., Path]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"package_name": "1model"}, "package_name must be a lowercase Python identifier"),
        ({"package_name": "my-model"}, "package_name must be a lowercase Python identifier"),
        ({"package_name": "Model"}, "package_name must be a lowercase Python identifier"),
        ({"package_name": "class"}, "package_name must not be a Python keyword"),
        ({"package_name": "import"}, "package_name must not be a Python keyword"),
        ({"author_email": "not-an-email"}, "author_email must be an e-mail address"),
        ({"author_email": "a@b"}, "author_email must be an e-mail address"),
        ({"project_name": "9 lives"}, "project_name must start with a letter"),
        ({"project_name": "bad/name"}, "project_name must start with a letter"),
        ({"author_name": "  "}, "author_name must not be empty"),
        (
            {"problem_type": "regression", "dataset": "credit"},
            "credit is a classification dataset: it needs problem_type=classification",
        ),
    ],
)
def test_bad_answer_is_refused_naming_the_rule(render: Render, answers, message):
    with pytest.raises(ValueError, match=message) as caught:
        render(**answers)
    assert f"'{next(iter(answers))}'" in str(caught.value) or "'dataset'" in str(caught.value)


def test_unknown_choice_is_refused(render: Render):
    with pytest.raises(ValueError, match="python_version"):
        render(python_version="2.7")


def test_package_name_is_derived_from_project_name(render: Render):
    project = render(project_name="Churn Model-v2")
    assert (project / "src" / "churn_model_v2" / "pipeline.py").is_file()
