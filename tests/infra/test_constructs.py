"""CoreLayer (built folders vs placeholder, one dependency layer per kind) and the context → config parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match, Template

from stacks.composition import cdk_json_context
from stacks.config import LOG_RETENTION_DAYS, EvalSchedule, SkyglassConfig, load_config
from stacks.constructs.core_layer import PLACEHOLDER_NOTE, VERSION_MARKER, CoreLayer
from stacks.constructs.log_groups import RETENTION
from stacks.constructs.runtime import PYTHON_VERSION


def _layer_asset(app: App, stack: Stack, description_start: str) -> Path:
    """The staged asset folder of the layer whose description starts with ``description_start``."""
    layers = Template.from_stack(stack).find_resources("AWS::Lambda::LayerVersion")
    (layer,) = [r for r in layers.values() if r["Properties"]["Description"].startswith(description_start)]
    asset_hash = layer["Properties"]["Content"]["S3Key"].removesuffix(".zip")
    return Path(app.outdir) / f"asset.{asset_hash}"


def _layer_stack(
    tmp_path: Path, deps_dir: Path, *, strict: bool = False, ingest_dir: Path | None = None
) -> tuple[App, Stack, CoreLayer]:
    app = App(outdir=str(tmp_path / "cdk.out"), context=cdk_json_context())
    stack = Stack(app, "LayerTest")
    dirs = {"full": deps_dir, "ingest": ingest_dir or tmp_path / "missing-ingest"}
    layer = CoreLayer(stack, "Layer", deps_dirs=dirs, strict=strict)
    layer.layers_for("full")
    return app, stack, layer


def _built(folder: Path, package: str, python: str = PYTHON_VERSION) -> Path:
    (folder / "python" / package).mkdir(parents=True)
    (folder / "python" / package / "__init__.py").write_text(f"NAME = {package!r}\n")
    (folder / VERSION_MARKER).write_text(f"{python}\n")
    return folder


def test_unbuilt_dependency_layer_uses_a_placeholder_and_warns(tmp_path: Path) -> None:
    # Given no `make layers` build
    app, stack, layer = _layer_stack(tmp_path, tmp_path / "missing")
    # When the stack is synthesized
    asset = _layer_asset(app, stack, "skyglass third-party")
    # Then the dependency layer is the placeholder, and a warning says how to build the real one
    assert layer.built == {"full": False}
    assert (asset / "python" / PLACEHOLDER_NOTE).is_file()
    Annotations.from_stack(stack).has_warning("*", Match.string_like_regexp("run `make layers`"))


def test_built_dependency_layer_is_packaged_as_is(tmp_path: Path) -> None:
    # Given a built dependency folder for the functions' Python
    deps = _built(tmp_path / "deps", "somepkg")
    app, stack, layer = _layer_stack(tmp_path, deps, strict=True)
    # When the stack is synthesized
    asset = _layer_asset(app, stack, "skyglass third-party")
    # Then the layer holds that folder (without the version marker) and nothing is warned
    assert layer.built == {"full": True}
    assert (asset / "python" / "somepkg" / "__init__.py").read_text() == "NAME = 'somepkg'\n"
    assert not (asset / VERSION_MARKER).exists()
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())
    # And both layers target arm64 and the functions' runtime
    Template.from_stack(stack).all_resources_properties(
        "AWS::Lambda::LayerVersion",
        {"CompatibleArchitectures": ["arm64"], "CompatibleRuntimes": [f"python{PYTHON_VERSION}"]},
    )


def test_each_kind_gets_its_own_folder_and_only_when_asked_for(tmp_path: Path) -> None:
    # Given built full and ingest folders, and a stack whose functions use only the full layer
    full, ingest = _built(tmp_path / "deps", "heavy"), _built(tmp_path / "ingest", "lean")
    app, stack, layer = _layer_stack(tmp_path, full, ingest_dir=ingest, strict=True)
    # Then only the full dependency layer exists
    assert set(layer.deps) == {"full"}
    # When a function asks for the ingest layer
    ingest_layers = layer.layers_for("ingest")
    # Then it gets the ingest folder and the same core layer, and the full layer is untouched
    assert ingest_layers == [layer.deps["ingest"], layer.core]
    Template.from_stack(stack).resource_count_is("AWS::Lambda::LayerVersion", 3)
    assert (_layer_asset(app, stack, "skyglass ingest") / "python" / "lean").is_dir()
    assert (_layer_asset(app, stack, "skyglass third-party") / "python" / "heavy").is_dir()
    with pytest.raises(ValueError, match="unknown layer kinds"):
        CoreLayer(Stack(App(), "Other"), "Layer", deps_dirs={"huge": full})


def test_core_layer_ships_the_skyglass_package_without_caches(tmp_path: Path) -> None:
    app, stack, _ = _layer_stack(tmp_path, tmp_path / "missing")
    asset = _layer_asset(app, stack, "skyglass core")
    assert (asset / "python" / "skyglass" / "settings.py").is_file()
    assert not list(asset.rglob("__pycache__"))
    assert not list(asset.rglob("*.egg-info"))


def test_layer_built_for_another_python_is_refused(tmp_path: Path) -> None:
    deps = _built(tmp_path / "deps", "x", python="3.9")
    with pytest.raises(ValueError, match=r"built for Python 3\.9"):
        _layer_stack(tmp_path, deps)


def test_strict_mode_refuses_the_placeholder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run `make layers` first"):
        _layer_stack(tmp_path, tmp_path / "missing", strict=True)


def _config(**context: object) -> SkyglassConfig:
    return load_config(App(context={f"skyglass:{k}": v for k, v in context.items()}))


def test_defaults_are_the_cheapest_working_stage() -> None:
    config = _config()
    assert (config.stage, config.aurora_min_acu, config.auto_pause) == ("prod", 0.0, True)
    assert config.eval_schedules == (
        EvalSchedule(
            "sample-nightly", "cron(0 3 * * ? *)", False, {"runName": "nightly", "datasetName": "example"}
        ),
    )


def test_command_line_strings_are_coerced() -> None:
    # Given -c values, which always arrive as strings
    config = _config(
        aurora_max_acu="8",
        aurora_min_acu="0.5",
        raw_bucket_versioned="true",
        worker_reserved_concurrency="10",
        eval_schedules='[{"name": "daily", "expression": "rate(1 day)", "enabled": true}]',
    )
    # Then each has its field's type
    assert config.aurora_max_acu == 8 and config.aurora_min_acu == 0.5 and config.auto_pause is False
    assert config.raw_bucket_versioned is True
    assert config.worker_reserved_concurrency == 10
    assert config.eval_schedules == (EvalSchedule("daily", "rate(1 day)", True),)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"stage": "Prod"}, "stage"),
        ({"aurora_min_acu": 8, "aurora_max_acu": 4}, "aurora_min_acu"),
        ({"log_retention_days": 31}, "log_retention_days"),
        ({"domain_name": "obs.example.com"}, "go together"),
        ({"clickhouse_url": "https://x"}, "clickhouses://"),
        ({"clickhouse_url": "clickhouses://u:secret@host:8443/db"}, "must not embed a password"),
        ({"worker_reserved_concurrency": 1}, ">= 2"),
        ({"raw_ia_after_days": "7"}, r"raw_ia_after_days must be >= 30 \(got 7\).*STANDARD_IA"),
        ({"raw_bucket_versioned": "maybe"}, "expected true or false"),
        ({"stagee": "dev"}, "unknown skyglass context keys"),
    ],
)
def test_bad_context_is_refused_with_the_reason(context: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(**context)


def test_every_accepted_log_retention_has_a_cloudwatch_value() -> None:
    assert set(RETENTION) == set(LOG_RETENTION_DAYS)
