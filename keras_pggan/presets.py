"""The named experiment presets (``pggan-dres``, ``pggan-res``, ``demo``, ``tiny``, ``ce``, ...)

The schema and its validation live in :mod:`keras_pggan.config`, which re-exports
:func:`get_preset` and :data:`PRESETS` (``from keras_pggan.config import get_preset`` keeps
working); this module holds only the values.

Example:
    >>> get_preset("tiny").data.image_size
    32
"""

from __future__ import annotations

from keras_pggan.config import (
    DataConfig,
    DiscriminatorConfig,
    ExperimentConfig,
    GeneratorConfig,
    LossConfig,
    MaskConfig,
    TrainConfig,
)


def _preset_pggan_dres() -> ExperimentConfig:
    return ExperimentConfig(name="pggan-dres")


def _preset_pggan_res() -> ExperimentConfig:
    return ExperimentConfig(
        name="pggan-res",
        generator=GeneratorConfig(variant="res", num_downsamplings=3, dilation_rates=(1,) * 8),
    )


def _preset_demo() -> ExperimentConfig:
    """PGGAN-DRes at reduced width and 64² crops: the no-flag quick-start run (minutes on CPU)."""
    return ExperimentConfig(
        name="demo",
        generator=GeneratorConfig(base_filters=16, max_filters=64, dilation_rates=(1, 2, 4, 8)),
        discriminator=DiscriminatorConfig(base_filters=16, max_filters=128),
        data=DataConfig(image_size=64, shuffle_buffer=64),
        train=TrainConfig(global_batch_size=8, steps_per_epoch=60, epochs=3, validation_steps=2),
    )


def _preset_tiny() -> ExperimentConfig:
    """A few thousand parameters at 32²: for tests."""
    return ExperimentConfig(
        name="tiny",
        generator=GeneratorConfig(base_filters=8, max_filters=16, dilation_rates=(1, 2)),
        discriminator=DiscriminatorConfig(
            base_filters=8,
            max_filters=16,
            num_shared_layers=2,
            num_patch_layers=1,
            num_global_layers=2,
        ),
        data=DataConfig(image_size=32, shuffle_buffer=16),
        train=TrainConfig(
            global_batch_size=4, steps_per_epoch=2, epochs=1, validation_steps=1, num_samples=2
        ),
    )


def _preset_ce() -> ExperimentConfig:
    """Context Encoder (Pathak et al. 2016) as a baseline, at 256².

    From the paper: 4×4 stride-2 encoder with LeakyReLU, channel-wise fully connected bottleneck
    followed by a 1×1 convolution, five transposed 4×4 stride-2 convolutions, masked L2 +
    adversarial loss weighted 0.999 / 0.001, Adam(2e-4, β1 = 0.5), centre and rectangular holes.
    Ours: the widths (64 doubling to 512), five down-samplings (an 8×8 bottleneck at 256², 4×4 at
    128²), no batch normalisation, the L2 averaged over hole pixels, a discriminator on the whole
    composited image.
    """
    return ExperimentConfig(
        name="ce",
        generator=GeneratorConfig(
            variant="ce",
            num_downsamplings=5,
            base_filters=64,
            max_filters=512,
            dilation_rates=(1,),
            stem_kernel_size=4,
        ),
        discriminator=DiscriminatorConfig(variant="ce"),
        loss=LossConfig(
            l1_weight=0.999,
            global_adv_weight=0.001,
            patch_adv_weight=0.0,
            reconstruction="hole",
            distance="l2",
        ),
        mask=MaskConfig(spec="center:0.5,rect:0.5"),
    )


def _preset_glgan() -> ExperimentConfig:
    """GLGAN (Iizuka et al. 2017) as a baseline, at 256².

    From the paper: the completion network (5×5 then 3×3 convolutions, two down-samplings to 256
    channels, dilated convolutions at rates 2, 4, 8, 16, two transposed-convolution
    up-samplings), global and local discriminators (5×5 stride-2 convolutions to 4×4, 1024-unit
    dense layers, concatenated into one logit), the local patch half the image side around the
    hole, L2 on the holes plus α = 0.0004 adversarial loss. Ours: no batch normalisation
    (instance normalisation in the discriminators), Adam instead of AdaDelta, the warm-up (off
    here; ``scripts/paper_table.py`` sets the paper's 18 % of the steps).
    """
    return ExperimentConfig(
        name="glgan",
        generator=GeneratorConfig(
            variant="glgan",
            num_downsamplings=2,
            base_filters=64,
            max_filters=256,
            dilation_rates=(2, 4, 8, 16),
            stem_kernel_size=5,
        ),
        discriminator=DiscriminatorConfig(variant="glgan"),
        loss=LossConfig(
            l1_weight=1.0,
            global_adv_weight=0.0004,
            patch_adv_weight=0.0,
            reconstruction="hole",
            distance="l2",
        ),
    )


PRESETS = {
    "pggan-dres": _preset_pggan_dres,
    "pggan-res": _preset_pggan_res,
    "demo": _preset_demo,
    "tiny": _preset_tiny,
    "ce": _preset_ce,
    "glgan": _preset_glgan,
}


def get_preset(name: str) -> ExperimentConfig:
    """Returns a named preset: ``pggan-dres``, ``pggan-res``, ``demo``, ``tiny``, ``ce``, ``glgan``.

    Raises:
        ValueError: for an unknown name.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]()
