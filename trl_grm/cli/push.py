"""``trl-grm push``: upload a trained GRM or Meta RM folder (weights or LoRA adapter, ``grm_config.json``,
``meta_rm/``) to the Hub with its model card, written from trl-grm's templates (with the ``trl-grm eval`` table when
``--eval_report`` names a ``report.md``)."""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from trl_grm.cli.common import UsageError, make_command_parser, run_command

PROG = "trl-grm push"


@dataclass
class PushArguments:
    """What to upload and where."""

    model_dir: str | None = field(default=None, metadata={"help": "The folder to upload (a trl-grm output_dir)."})
    repo_id: str | None = field(default=None, metadata={"help": "Hub repository, e.g. your-name/my-grm."})
    private: bool = field(default=False, metadata={"help": "Create the repository as private."})
    revision: str | None = field(default=None, metadata={"help": "Branch to push to (created when missing)."})
    create_pr: bool = field(default=False, metadata={"help": "Open a pull request instead of committing."})
    token: str | None = field(default=None, metadata={"help": "Hub token (default: the logged-in one / $HF_TOKEN)."})
    eval_report: str | None = field(default=None, metadata={"help": "A trl-grm eval report.md for the card."})
    base_model: str | None = field(default=None, metadata={"help": "Hub id of the base model, for the card."})
    dataset_name: str | None = field(default=None, metadata={"help": "Training data, for the card."})
    recipe: str | None = field(default=None, metadata={"help": "The recipe the model was trained with, for the card."})
    keep_card: bool = field(default=False, metadata={"help": "Upload an existing README.md as it is."})
    dry_run: bool = field(
        default=False, metadata={"help": "List what would be uploaded (with the card written) and exit."}
    )
    commit_message: str | None = field(default=None, metadata={"help": "Commit message."})


def make_parser(prog: str = PROG):
    return make_command_parser([PushArguments], prog, description="Upload a GRM or Meta RM with its model card.")


def main(argv: list[str] | None = None) -> int:
    (args,) = make_parser().parse_args_and_config(argv)
    return run(args)


def run(args: PushArguments) -> int:
    from trl_grm.modeling.hub import CARD_FILE, is_grm_folder, push_folder, write_card

    if not args.model_dir or not args.repo_id:
        raise UsageError("Give --model_dir (the folder to upload) and --repo_id (e.g. your-name/my-grm)")
    if not os.path.isdir(args.model_dir):
        raise FileNotFoundError(f"--model_dir: no such folder: {args.model_dir}")
    has_weights = any(
        name.endswith(".safetensors") or name == "adapter_config.json" for name in os.listdir(args.model_dir)
    )
    if not has_weights:
        raise UsageError(f"--model_dir: {args.model_dir} holds no safetensors weights or LoRA adapter")
    pickled = [n for n in os.listdir(args.model_dir) if re.fullmatch(r"(pytorch_model|adapter_model).*\.bin", n)]
    if pickled:
        raise UsageError(f"--model_dir: {args.model_dir} holds pickled weights ({pickled[0]}); save as safetensors")
    eval_markdown = None
    if args.eval_report:
        with open(args.eval_report) as f:
            eval_markdown = f.read()
    card = os.path.join(args.model_dir, CARD_FILE)
    if not (args.keep_card and os.path.exists(card)):
        kwargs = dict(repo_id=args.repo_id, base_model=args.base_model, dataset_name=args.dataset_name)
        if is_grm_folder(args.model_dir):
            kwargs.update(eval_markdown=eval_markdown, recipe=args.recipe)
        write_card(args.model_dir, **kwargs)
    if args.dry_run:
        from huggingface_hub.utils import filter_repo_objects

        from trl_grm.modeling.hub import UPLOAD_IGNORE

        names = sorted(str(p.relative_to(args.model_dir)) for p in Path(args.model_dir).rglob("*") if p.is_file())
        kept = list(filter_repo_objects(names, ignore_patterns=UPLOAD_IGNORE))
        print(f"{PROG}: dry run: would upload {len(kept)} file(s) to {args.repo_id}: {', '.join(kept)}")
        return 0
    url = push_folder(
        args.model_dir,
        args.repo_id,
        private=args.private or None,
        revision=args.revision,
        token=args.token,
        create_pr=args.create_pr,
        commit_message=args.commit_message,
    )
    print(f"Pushed {args.model_dir} to {args.repo_id}: {url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command(PROG, lambda: main(sys.argv[1:])))
