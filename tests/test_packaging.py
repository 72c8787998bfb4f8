"""The recipes, accelerate configs and model configs ship inside the wheel (``trl_grm/recipes``), so that a
pip-installed trl-grm plans and dry-runs the shipped recipes from any folder, offline; our accelerate config names
(fsdp2, zero3, multi_cpu, ...) always resolve to our files, never to TRL's files of the same name."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from trl_grm.cli.common import UsageError
from trl_grm.cli.main import main as cli

ROOT = Path(__file__).resolve().parents[1]
# Not part of a build: virtual environments, build outputs and caches of the checkout.
_TOP_LEVEL_SKIP = {".git", "build", "dist", "outputs", ".whl", "wandb"}


def _skip(folder: str, names: list[str]) -> set[str]:
    top = Path(folder).resolve() == ROOT
    anywhere = {n for n in names if n == "__pycache__" or n.endswith((".egg-info", "_cache"))}
    return anywhere | ({n for n in names if n in _TOP_LEVEL_SKIP or "venv" in n} if top else set())


def _version(dist: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in re.findall(r"\d+", metadata.version(dist))[:2])
    except metadata.PackageNotFoundError:
        return ()


def _build_offline() -> bool:
    """Whether this environment can build the wheel itself (``--no-build-isolation``: offline, ~2 s): setuptools
    >= 70.1 has bdist_wheel built in, older ones (>= 68, pyproject.toml) need the wheel package."""
    setuptools = _version("setuptools")
    return setuptools >= (70, 1) or (setuptools >= (68,) and bool(_version("wheel")))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout, built from a copy of it (no build/ folder or egg-info written into the checkout,
    nothing stale from an earlier build/lib)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=_skip)
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp / "dist"), str(source)]
    if _build_offline():
        command.append("--no-build-isolation")
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = (tmp / "dist").glob("trl_grm-*.whl")
    return built


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    """The wheel installed (no dependencies: they are this environment's) into a folder outside the checkout."""
    target = tmp_path_factory.mktemp("installed") / "site"
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target)]
    done = subprocess.run([*command, str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return target


def test_wheel_ships_recipes_and_configs(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in (
        "trl_grm/recipes/gemma-2-27b/rft.yaml",
        "trl_grm/recipes/accelerate_configs/zero3.yaml",
        "trl_grm/recipes/model_configs/gemma-2-27b/config.json",
        "trl_grm/recipes/README.md",
        "trl_grm/recipes/smollm2-135m/ship_adapter.py",
    ):
        assert shipped in names, shipped
    checkout = {p.relative_to(ROOT / "recipes").as_posix() for p in (ROOT / "recipes").rglob("*") if p.is_file()}
    checkout = {n for n in checkout if n.endswith((".yaml", ".json", ".md", ".py")) and "__pycache__" not in n}
    assert {f"trl_grm/recipes/{n}" for n in checkout} <= names  # every recipe and config, recursively
    assert not any(n.startswith("recipes/") for n in names)  # inside the package, not a top-level folder
    # Every module of the package is still there (the packages come from package-dir discovery, not a list).
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "trl_grm").rglob("*.py")}
    modules = {m for m in modules if "__pycache__" not in m}
    assert modules <= names, sorted(modules - names)
    for data in ("trl_grm/assets/", "trl_grm/templates/"):
        assert any(n.startswith(data) for n in names), data


def test_installed_wheel_plans_and_dry_runs_shipped_recipes(site, tmp_path):
    """Installed from the wheel, run from a folder outside the checkout, offline: ``plan NAME`` finds the shipped
    recipe and model config, and ``--accelerate_config zero3`` is our zero3.yaml inside the installed package."""
    script = (
        "import json, sys\n"
        "import trl_grm\n"
        "from trl_grm.cli.main import main\n"
        "print('trl_grm at', trl_grm.__file__, flush=True)\n"
        "for argv in json.loads(sys.argv[1]):\n"
        "    print('=== command', *argv, flush=True)\n"
        "    print('=== exit', main(argv), flush=True)\n"
    )
    recipe = site / "trl_grm" / "recipes" / "gemma-2-27b" / "rft.yaml"
    commands = [
        ["plan", "gemma-2-27b/rft.yaml"],
        ["rft", "--config", str(recipe), "--dry_run", "--accelerate_config", "zero3"],
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRL_GRM_")}
    env.update(PYTHONPATH=str(site), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    run = tmp_path / "elsewhere"
    run.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(commands)], cwd=run, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    location = re.search(r"trl_grm at (.+)", done.stdout).group(1)
    assert Path(location).resolve().is_relative_to(site.resolve()), location  # the installed copy, not the checkout
    plan, dry_run = done.stdout.split("=== command")[1:]
    zero3 = site / "trl_grm" / "recipes" / "accelerate_configs" / "zero3.yaml"
    for out in (plan, dry_run):
        assert "=== exit 0" in out, out + done.stderr
        assert "architecture        gemma2 (Gemma2ForCausalLM)" in out, out
        assert "[memory per GPU (zero3, 8 processes)]" in out, out
        assert Path(re.search(r"accelerate {2,}(\S+)", out).group(1)) == zero3, out  # ours, not TRL's zero3.yaml


def _install_configs(tmp_path, monkeypatch, names) -> Path:
    """A fake installed package (``trl_grm/recipes/accelerate_configs/`` with ``names``) as the shipped folder."""
    package = tmp_path / "site" / "trl_grm"
    folder = package / "recipes" / "accelerate_configs"
    folder.mkdir(parents=True)
    for name in names:
        (folder / f"{name}.yaml").write_text(f"# {name}\n")
    monkeypatch.setattr("trl_grm.utils.resources.PACKAGE_DIR", package)
    return folder


def _trl_configs() -> dict[str, Path]:
    import importlib.resources as resources

    folder = resources.files("trl.accelerate_configs")
    return {f.name.removesuffix(".yaml"): Path(str(f)) for f in folder.iterdir() if f.name.endswith(".yaml")}


def test_our_accelerate_config_names_resolve_to_our_shipped_files(tmp_path, monkeypatch):
    from trl_grm.cli.launch import SHIPPED_ACCELERATE_CONFIGS, resolve_accelerate_config

    assert set(SHIPPED_ACCELERATE_CONFIGS) == {p.stem for p in (ROOT / "recipes/accelerate_configs").glob("*.yaml")}
    folder = _install_configs(tmp_path, monkeypatch, SHIPPED_ACCELERATE_CONFIGS)
    for name in ("fsdp2", "zero3", "multi_cpu"):
        assert Path(resolve_accelerate_config(name)) == folder / f"{name}.yaml"  # even where TRL has the same name
    theirs = _trl_configs()
    if "zero1" in theirs:  # a name we do not ship: TRL's file
        assert Path(resolve_accelerate_config("zero1")) == theirs["zero1"]
    given = tmp_path / "mine.yaml"
    given.write_text("num_processes: 1\n")
    assert resolve_accelerate_config(str(given)) == str(given)


@pytest.mark.parametrize("installed", ["no-file", "no-folder"])
def test_missing_shipped_accelerate_config_is_an_error_not_trls_file(installed, tmp_path, monkeypatch):
    from trl_grm.cli.launch import resolve_accelerate_config

    if installed == "no-file":
        _install_configs(tmp_path, monkeypatch, ["multi_cpu"])  # an incomplete installation
    else:  # no recipes folder at all (and no checkout around it)
        monkeypatch.setattr("trl_grm.utils.resources.PACKAGE_DIR", tmp_path / "site" / "trl_grm")
    with pytest.raises(UsageError, match="missing from this installation") as err:
        resolve_accelerate_config("zero3")
    message = str(err.value)
    assert "\n" not in message and "zero3" in message
    assert "TRL" not in message and "trl/accelerate_configs" not in message and "trl.accelerate" not in message


def test_unknown_accelerate_config_lists_ours_and_trls(monkeypatch):
    from trl_grm.cli.launch import resolve_accelerate_config

    with pytest.raises(UsageError) as err:
        resolve_accelerate_config("zero9")
    message = str(err.value)
    assert "\n" not in message and "'zero9'" in message
    assert all(name in message for name in ("fsdp2", "multi_cpu", "multi_gpu", "zero2", "zero3"))
    assert all(name in message for name in set(_trl_configs()) - {"fsdp2", "multi_gpu", "zero2", "zero3"})


def test_accelerate_config_flag_overrides_the_recipes(capsys):
    """gemma-2-27b/rft.yaml says accelerate_config: zero3; the command line's fsdp2 wins (was an error)."""
    recipe = str(ROOT / "recipes/gemma-2-27b/rft.yaml")
    assert cli(["rft", "--config", recipe, "--dry_run", "--accelerate_config", "fsdp2"]) == 0
    out = capsys.readouterr().out
    assert Path(re.search(r"accelerate {2,}(\S+)", out).group(1)) == ROOT / "recipes/accelerate_configs/fsdp2.yaml"
    assert "[memory per GPU (fsdp, 8 processes)]" in out


def test_plan_finds_a_shipped_recipe_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # not the checkout: the name is relative to the shipped recipes folder
    assert cli(["plan", "gemma-2-27b/rft_qlora"]) == 0
    out = capsys.readouterr().out
    assert "trl-grm rft: dry run (no weights loaded)" in out and "gemma2 (Gemma2ForCausalLM)" in out
    assert cli(["plan", "gemma-2-27b/rft_qlroa"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such recipe: gemma-2-27b/rft_qlroa" in err[0], err
    assert str(ROOT / "recipes") in err[0]  # where the shipped recipes are
