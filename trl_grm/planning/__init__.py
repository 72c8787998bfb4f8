"""Library checks of a run that need no weights: :mod:`.preflight` (the model's config, LoRA targets, this machine)
and :mod:`.memory` (memory per GPU of a training or sampling stage). They return values and raise errors; the
commands print them."""
