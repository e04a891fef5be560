"""Frozen, validated experiment configuration with a JSON round trip.

Every value below is a default chosen by this project unless its docstring says it comes from the
paper (Demir & Unal 2018, arXiv 1803.07422). The paper's layer tables are not available to us, so
only the loss weights (λ = 0.995, 0.0025, 0.0025), the generator families (PGGAN-DRes: dilated
residual blocks after 2 down-samplings; PGGAN-Res: plain residual blocks after 3), interpolated
up-sampling and the two-headed discriminator are taken from the paper's text.

The ``ce`` and ``glgan`` presets are the baselines of the paper's comparison, Context Encoder
(Pathak et al. 2016) and GLGAN (Iizuka et al. 2017), trained by the same code (docs/baselines.md);
their docstrings say which values come from those papers.

Example:
    >>> cfg = get_preset("tiny")
    >>> cfg2 = ExperimentConfig.from_json(cfg.to_json())
    >>> cfg2 == cfg
    True
    >>> cfg3 = cfg.replace(train={"global_batch_size": 4})
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

# The name lists of the schema. This module is their one owner (and free of TensorFlow): the
# model registry, the layers, the losses and the guards import them, and tests check that each
# registry's keys are these names.
GENERATOR_VARIANTS = ("dres", "res", "ce", "glgan")
DISCRIMINATOR_VARIANTS = ("pggan", "global", "patch", "ce", "glgan")
# The paper's own networks (keras_pggan.models.generator / .discriminator, trained by PGGAN); the
# other variants are the baselines' (keras_pggan.models.ce / .glgan, trained by BaselineGAN).
PAPER_GENERATORS = ("dres", "res")
PAPER_DISCRIMINATORS = ("pggan", "global", "patch")
NORMS_G = ("instance", "none")
BLOCK_TYPES = ("both", "dilated_first", "dilated_second")  # GeneratorConfig.block_type
UPSAMPLES = ("resize_conv", "transposed")  # GeneratorConfig.upsample
INTERPOLATIONS = ("bilinear", "bicubic", "nearest")  # GeneratorConfig.upsample_interpolation
NORMS_D = ("instance", "spectral", "none")
ADVERSARIAL_LOSSES = ("bce", "hinge", "lsgan")  # LossConfig.adversarial
RECONSTRUCTION_MODES = ("full", "hole", "weighted")
RECONSTRUCTION_DISTANCES = ("l1", "l2")
CROP_MODES = ("resize_crop", "random_crop")
COLOUR_SPACES = ("rgb", "ycbcr")
STRATEGIES = ("auto", "default", "mirrored", "multi-worker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
JIT_COMPILE = ("auto", "true", "false")  # TrainConfig.jit_compile; "auto" is Keras's
HOLE_FILLS = ("zero", "mean")
NAN_POLICIES = ("stop", "skip")  # TrainConfig.nan_policy


def _fail(cls: str, field: str, problem: str) -> None:
    raise ValueError(f"{cls}.{field}: {problem}")


def _positive(cls: str, **values: Any) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            _fail(cls, name, f"must be a positive integer, got {value!r}")


def _choice(cls: str, field: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(cls, field, f"must be one of {choices}, got {value!r}")


def _non_negative_float(cls: str, **values: Any) -> None:
    for name, value in values.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            _fail(cls, name, f"must be a non-negative number, got {value!r}")


@dataclasses.dataclass(frozen=True)
class GeneratorConfig:
    """Encoder–decoder ResNet generator (or a baseline's generator).

    Attributes:
        variant: ``"dres"`` (PGGAN-DRes: dilated residual blocks) or ``"res"`` (PGGAN-Res: plain
            residual blocks), from the paper; or a baseline (``keras_pggan.models.ce``,
            ``keras_pggan.models.glgan``): ``"ce"`` (Context Encoder: 4×4 stride-2 encoder,
            channel-wise fully connected bottleneck, transposed-convolution decoder; runs at
            ``fixed_size``) or ``"glgan"`` (GLGAN's completion network: ``dilation_rates`` are
            its dilated convolutions, transposed-convolution up-sampling).
        num_downsamplings: stride-2 convolutions in the encoder; the paper uses 2 for DRes and 3
            for Res. Inputs must be multiples of ``2**num_downsamplings`` (callers above pad).
        base_filters: filters of the first convolution; doubled per down-sampling. Our default.
        max_filters: cap on the filters of any layer. Our default.
        dilation_rates: one entry per residual block (its length is the number of blocks). For
            ``"dres"`` the rates grow 1, 2, 4, 8 (paper's idea; the count and values are our
            default); for ``"res"`` they must all be 1; for ``"glgan"`` one dilated convolution
            per entry; unused by ``"ce"``.
        stem_kernel_size: kernel of the first and last convolution (``"ce"``: of every encoder
            and decoder convolution). Our default.
        norm: ``"none"`` (our default) or ``"instance"`` (Keras ``GroupNormalization(groups=-1)``).
            Instance normalisation removes each feature map's mean, which erases the absolute
            colour of flat regions: on flat-colour images (tests/model_test.py) the instance-norm
            generator cannot tell which colour to paint, so it is off by default.
        block_type: which of a residual block's two 3×3 convolutions carries the block's
            dilation rate (the block is Conv → Norm → ReLU → Conv, plus the identity; rate
            ``dilation_rates[i]`` for block ``i``, the paper doubling it per block from 1: 1, 2,
            4, 8): ``"both"`` (both convolutions dilated: our design and the default, which
            every saved model was trained with), ``"dilated_first"`` (the dilated convolution
            first, then a plain one) or ``"dilated_second"`` (a plain convolution, then the
            dilated one): the paper's two dilated block types (Fig. 4). A block of rate 1 is the
            standard block whatever the type. ``"res"`` has only rate-1 blocks, so it takes only
            the default ``"both"`` (another type would change nothing).
        upsample: how the decoder doubles the resolution: ``"resize_conv"`` (resize ×2 with
            ``upsample_interpolation``, then a 3×3 convolution: the paper's "interpolated
            convolution", the default) or ``"transposed"`` (one 3×3 stride-2 transposed
            convolution, same filters and parameters: the paper's counterpart in Fig. 5; the
            kernel is our choice, the paper gives none. A 3×3 kernel at stride 2 overlaps
            unevenly, the classic checkerboard case).
        upsample_interpolation: interpolation of the ×2 resize before each up-sampling conv
            ("interpolated convolution"; the paper names bilinear and bicubic, bilinear is our
            default): ``"bilinear"``, ``"bicubic"`` (``keras_pggan.models.layers.ResizeUpsample``: a
            fixed filter that converts to TFLite builtin ops) or ``"nearest"``. Only for
            ``upsample="resize_conv"``. The baselines up-sample with transposed convolutions,
            as their papers do, and take neither option.
        fixed_size: ``"ce"`` only: the side its fully connected bottleneck is built for; inputs
            of any other size are resized to it inside the network and the output back.
            ``None`` means the training crop size (``DataConfig.image_size``).
        hole_fill: what the network sees in the holes: ``"zero"`` (0 in [-1,1], mid-grey; the
            default, as every earlier model) or ``"mean"`` (each image's mean known colour per
            channel: a flat region with a hole then arrives flat, so a colour cast is not the
            network's default answer). Our option (``keras_pggan.models.layers.MaskedInput``).
        residual_filters: width of each residual block's inner layer (the first convolution's
            output, the second's input); ``None`` (the default, every saved model) keeps the
            bottleneck's width. A wider inner layer adds capacity at the bottleneck without
            changing the feature maps the blocks pass on, so a generator of the default width
            warm-starts into it exactly (``keras_pggan.training.warm_start``). PGGAN only.
    """

    variant: str = "dres"
    num_downsamplings: int = 2
    base_filters: int = 64
    max_filters: int = 256
    dilation_rates: tuple[int, ...] = (1, 2, 4, 8, 1, 2, 4, 8)
    stem_kernel_size: int = 7
    norm: str = "none"
    upsample_interpolation: str = "bilinear"
    fixed_size: int | None = None
    hole_fill: str = "zero"
    block_type: str = "both"
    upsample: str = "resize_conv"
    residual_filters: int | None = None

    def __post_init__(self):
        c = "GeneratorConfig"
        _choice(c, "variant", self.variant, GENERATOR_VARIANTS)
        _choice(c, "hole_fill", self.hole_fill, HOLE_FILLS)
        _choice(c, "norm", self.norm, NORMS_G)
        _choice(c, "upsample_interpolation", self.upsample_interpolation, INTERPOLATIONS)
        _choice(c, "block_type", self.block_type, BLOCK_TYPES)
        _choice(c, "upsample", self.upsample, UPSAMPLES)
        _positive(
            c,
            num_downsamplings=self.num_downsamplings,
            base_filters=self.base_filters,
            max_filters=self.max_filters,
            stem_kernel_size=self.stem_kernel_size,
        )
        if not self.dilation_rates:
            _fail(c, "dilation_rates", "needs at least one residual block")
        for r in self.dilation_rates:
            if not isinstance(r, int) or isinstance(r, bool) or r <= 0:
                _fail(c, "dilation_rates", f"rates must be positive integers, got {r!r}")
        if self.variant == "res" and any(r != 1 for r in self.dilation_rates):
            _fail(c, "dilation_rates", "variant 'res' uses plain residual blocks: all rates 1")
        if self.residual_filters is not None:
            _positive(c, residual_filters=self.residual_filters)
        pggan_only = {"block_type": "both", "upsample": "resize_conv", "residual_filters": None}
        for field, default in pggan_only.items():
            if self.variant in ("ce", "glgan") and getattr(self, field) != default:
                _fail(c, field, f"only PGGAN generators ('dres', 'res') have it: {self.variant!r}")
        if self.variant == "res" and self.block_type != "both":
            _fail(c, "block_type", "variant 'res' has no dilated convolution: use 'dres'")
        if self.upsample == "transposed" and self.upsample_interpolation != "bilinear":
            _fail(c, "upsample_interpolation", "is for upsample 'resize_conv', not 'transposed'")
        if self.fixed_size is not None:
            if self.variant != "ce":
                _fail(c, "fixed_size", f"only variant 'ce' has a fixed size, not {self.variant!r}")
            _positive(c, fixed_size=self.fixed_size)
            if self.fixed_size % self.pad_multiple:
                _fail(
                    c,
                    "fixed_size",
                    f"{self.fixed_size} is not a multiple of {self.pad_multiple} "
                    "(2**num_downsamplings)",
                )

    @property
    def pad_multiple(self) -> int:
        """Height and width of generator inputs must be multiples of this (checked before a
        build; built models: ``keras_pggan.models.generator.pad_multiple_of``)."""
        return 2**self.num_downsamplings


@dataclasses.dataclass(frozen=True)
class DiscriminatorConfig:
    """One discriminator: a shared trunk, then a G-GAN head and a PatchGAN head.

    Attributes:
        variant: ``"pggan"`` (both heads), ``"global"`` (G-GAN only) or ``"patch"`` (PatchGAN
            only): the paper's ablation; or a baseline's discriminator: ``"ce"`` (Context
            Encoder's global discriminator) or ``"glgan"`` (GLGAN's global and local
            discriminators joined into one logit). The baselines ignore the ``num_*_layers``
            fields: they stack stride-2 convolutions until the map is 4×4, as their papers do.
        base_filters: filters of the first trunk convolution, doubled per layer. Our default.
        max_filters: cap on the filters of any layer. Our default.
        num_shared_layers: stride-2 convolutions in the shared trunk. Our default.
        num_patch_layers: further stride-2 convolutions in the PatchGAN head. With the trunk this
            gives a stride of ``2**(num_shared_layers + num_patch_layers)`` = 16, i.e. a 16×16
            logit map at 256² as the paper describes.
        num_global_layers: further stride-2 convolutions in the G-GAN head before the dense logit.
            Our default.
        norm: ``"instance"``, ``"spectral"`` (Keras ``SpectralNormalization``) or ``"none"``.
            Our default.
        leaky_relu_slope: negative slope of the LeakyReLU activations. Our default.
        local_patch_size: ``"glgan"`` only: side of the local discriminator's patch around the
            hole. ``None`` means half the training crop (GLGAN's 128 px at 256²).
    """

    variant: str = "pggan"
    base_filters: int = 64
    max_filters: int = 512
    num_shared_layers: int = 3
    num_patch_layers: int = 1
    num_global_layers: int = 3
    norm: str = "instance"
    leaky_relu_slope: float = 0.2
    local_patch_size: int | None = None

    def __post_init__(self):
        c = "DiscriminatorConfig"
        _choice(c, "variant", self.variant, DISCRIMINATOR_VARIANTS)
        _choice(c, "norm", self.norm, NORMS_D)
        _positive(
            c,
            base_filters=self.base_filters,
            max_filters=self.max_filters,
            num_shared_layers=self.num_shared_layers,
            num_patch_layers=self.num_patch_layers,
            num_global_layers=self.num_global_layers,
        )
        _non_negative_float(c, leaky_relu_slope=self.leaky_relu_slope)
        if self.local_patch_size is not None:
            if self.variant != "glgan":
                _fail(c, "local_patch_size", f"only variant 'glgan' has one, not {self.variant!r}")
            _positive(c, local_patch_size=self.local_patch_size)

    @property
    def patch_stride(self) -> int:
        """Input pixels per PatchGAN logit along each axis."""
        return 2 ** (self.num_shared_layers + self.num_patch_layers)


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Generator and discriminator objectives.

    Attributes:
        l1_weight: λ1 on the reconstruction term (L1, or L2 with ``distance="l2"``). From the
            paper (0.995).
        global_adv_weight: λ2 on the G-GAN adversarial term. From the paper (0.0025).
        patch_adv_weight: λ3 on the PatchGAN adversarial term. From the paper (0.0025).
        adversarial: ``"bce"`` (non-saturating, default), ``"hinge"`` or ``"lsgan"``.
        reconstruction: ``"full"`` (L1 over the whole image, default), ``"hole"`` (holes only) or
            ``"weighted"`` (hole pixels weighted by ``hole_weight``).
        hole_weight: weight of hole pixels in ``"weighted"`` mode. Our default.
        distance: ``"l1"`` (the paper's, default) or ``"l2"`` (squared error: Context Encoder's
            and GLGAN's reconstruction loss).
        warmup_steps: generator steps at the start trained on the reconstruction term alone
            (adversarial terms off; the discriminator still trains): GLGAN's first phase.
            0 (default) turns it off.
        colour_space: space of the reconstruction distance: ``"rgb"`` (default, the paper's) or
            ``"ycbcr"`` (BT.601 luma and chroma, chroma weighted by ``chroma_weight``): in RGB
            the three channels move together, so the L1 is mostly a luma loss and a fill of the
            right brightness and the wrong hue costs little.
        chroma_weight: ``"ycbcr"`` only: weight of Cb and Cr against Y (1). The three weights
            are normalised to mean 1, so the term's scale stays that of the RGB L1.
        colour_lowpass_weight: weight of a low-frequency colour term (added to the
            reconstruction term): L1 between the 8×8-pooled chroma of the fill and of the truth
            in hole cells. Wrong hues are patches, not pixels; 0 (default) turns it off.
        feature_matching_weight: weight of a feature-matching term (added to the generator's
            loss): L1 between the discriminator's shared-trunk activations of the real image and
            of the composited fill (``losses.feature_matching_loss``). It pulls the fill toward
            the statistics the discriminator sees in real photos without a pretrained network
            (none exists offline); 0 (default) turns it off. PGGAN discriminators only.
    """

    l1_weight: float = 0.995
    global_adv_weight: float = 0.0025
    patch_adv_weight: float = 0.0025
    adversarial: str = "bce"
    reconstruction: str = "full"
    hole_weight: float = 6.0
    distance: str = "l1"
    warmup_steps: int = 0
    colour_space: str = "rgb"
    chroma_weight: float = 1.0
    colour_lowpass_weight: float = 0.0
    feature_matching_weight: float = 0.0

    def __post_init__(self):
        c = "LossConfig"
        _choice(c, "colour_space", self.colour_space, COLOUR_SPACES)
        if self.colour_space != "rgb" and self.distance != "l1":
            _fail(c, "colour_space", f"{self.colour_space!r} needs distance='l1'")
        _choice(c, "adversarial", self.adversarial, ADVERSARIAL_LOSSES)
        _choice(c, "reconstruction", self.reconstruction, RECONSTRUCTION_MODES)
        _choice(c, "distance", self.distance, RECONSTRUCTION_DISTANCES)
        if (
            not isinstance(self.warmup_steps, int)
            or isinstance(self.warmup_steps, bool)
            or self.warmup_steps < 0
        ):
            _fail(c, "warmup_steps", f"must be an integer >= 0, got {self.warmup_steps!r}")
        _non_negative_float(
            c,
            l1_weight=self.l1_weight,
            global_adv_weight=self.global_adv_weight,
            patch_adv_weight=self.patch_adv_weight,
            hole_weight=self.hole_weight,
            chroma_weight=self.chroma_weight,
            colour_lowpass_weight=self.colour_lowpass_weight,
            feature_matching_weight=self.feature_matching_weight,
        )


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where training images come from and how they are cropped.

    Attributes:
        train: sources, each a folder (searched recursively), a text file listing image paths, or
            a TFRecord glob. Empty means the embedded default photos (shipped by scikit-image).
        val: validation sources, same forms; empty means a deterministic pass over ``train``.
        image_size: side of the square training crops. The paper trains at 256 and 512.
        crop: ``"resize_crop"`` (resize the short side to ``resize_to`` (default
            ``image_size``), then random crop) or ``"random_crop"`` (random crop at native
            scale; smaller images are resized up).
        resize_to: short side before cropping in ``"resize_crop"`` mode; ``None`` means
            ``image_size``. Training 128² crops of photos scaled to 256 keeps the object scale of
            256² evaluation at a quarter of the cost.
        resize_to_max: multi-scale training: the short side is drawn per example, uniformly
            in ``[resize_to, resize_to_max]`` (validation keeps ``resize_to``), so the model
            sees holes at many object scales. ``None`` (default) means one scale.
        flip: random horizontal flips.
        shuffle_buffer: size of the file-level shuffle buffer. Our default.
        cache: cache decoded images in memory (small data sets only).
    """

    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    image_size: int = 256
    crop: str = "resize_crop"
    resize_to: int | None = None
    resize_to_max: int | None = None
    flip: bool = True
    shuffle_buffer: int = 1024
    cache: bool = False

    def __post_init__(self):
        c = "DataConfig"
        _positive(c, image_size=self.image_size, shuffle_buffer=self.shuffle_buffer)
        _choice(c, "crop", self.crop, CROP_MODES)
        if self.resize_to is not None and (
            not isinstance(self.resize_to, int) or self.resize_to < self.image_size
        ):
            _fail(c, "resize_to", f"must be an int >= image_size, got {self.resize_to!r}")
        if self.resize_to_max is not None and (
            not isinstance(self.resize_to_max, int)
            or self.resize_to_max < (self.resize_to or self.image_size)
            or self.crop != "resize_crop"
        ):
            _fail(
                c,
                "resize_to_max",
                "needs crop='resize_crop' and an int >= resize_to (or image_size), "
                f"got {self.resize_to_max!r}",
            )
        for field in ("train", "val"):
            for s in getattr(self, field):
                if not isinstance(s, str) or not s:
                    _fail(c, field, f"sources must be non-empty strings, got {s!r}")


@dataclasses.dataclass(frozen=True)
class MaskConfig:
    """Training masks (1 = hole).

    Attributes:
        spec: weighted mixture of mask kinds, e.g. ``"rect:1"`` or ``"freeform:0.5,rect:0.5"``.
            See ``keras_pggan.masks`` for the kinds.
        min_hole_ratio: masks with a smaller hole fraction are re-drawn or grown. Our default.
        max_hole_ratio: masks with a larger hole fraction are re-drawn or shrunk. Our default.
        mask_dir: folder of mask files for the ``"folder"`` kind (white = hole).
    """

    spec: str = "rect:1"
    min_hole_ratio: float = 0.05
    max_hole_ratio: float = 0.5
    mask_dir: str | None = None

    def __post_init__(self):
        c = "MaskConfig"
        _non_negative_float(
            c, min_hole_ratio=self.min_hole_ratio, max_hole_ratio=self.max_hole_ratio
        )
        if not 0 <= self.min_hole_ratio <= self.max_hole_ratio <= 1:
            _fail(c, "max_hole_ratio", "need 0 <= min_hole_ratio <= max_hole_ratio <= 1")
        if not isinstance(self.spec, str) or not self.spec.strip():
            _fail(c, "spec", f"must be a non-empty string, got {self.spec!r}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation and run settings.

    Attributes:
        global_batch_size: images per step summed over all replicas.
        steps_per_epoch: optimisation steps per Keras epoch.
        epochs: number of epochs.
        g_learning_rate: Adam learning rate of the generator. Our default (pix2pix's 2e-4).
        d_learning_rate: Adam learning rate of the discriminator. Our default.
        beta_1: Adam β1 for both optimisers. Our default (0.5, common for GANs).
        beta_2: Adam β2 for both optimisers. Our default.
        seed: the one seed for weights, data order, crops, flips and masks.
        validation_steps: validation batches after each epoch (0 disables validation).
        num_samples: images in the per-epoch sample grid.
        nan_policy: what a NaN/Inf does: ``"stop"`` (stop before saving, keep the last good
            checkpoint; keras_pggan.training.guards) or ``"skip"`` (skip the step's updates).
        precision: ``"float32"`` (default), ``"mixed_float16"`` or ``"mixed_bfloat16"``: layers
            compute in float16 / bfloat16 while variables, optimiser state, the generator's
            tanh output, the discriminator's logits and all losses stay float32. Under
            ``mixed_float16`` both optimisers are wrapped in
            ``keras.optimizers.LossScaleOptimizer`` (dynamic loss scaling: float16's range is
            too small for unscaled gradients); a step whose scaled gradients overflow is
            skipped and the scale halved, and the logs count it (``skipped_steps``,
            ``g_loss_scale``, ``d_loss_scale``; ``keras_pggan.training.model.PGGAN``). Mixed
            precision pays
            only where the hardware has the arithmetic: float16 on GPUs with tensor cores,
            bfloat16 on GPUs/TPUs and CPUs with AVX512_BF16 or AMX
            (``keras_pggan.cpu.bf16_supported``). Saved generators compute in float32 either way.
        jit_compile: XLA for the training step: ``"auto"`` (default; Keras's rule: on when the
            process sees a GPU and no ``tf.distribute`` strategy is in use, off on CPU-only
            machines), ``"true"`` or ``"false"``.
        ema_decay: decay of an exponential moving average of the generator's weights, kept
            beside training (ProGAN's averaged generator; ``keras_pggan.training.ema``), saved as
            ``generator_ema*.keras`` and scored on the validation set as ``val_ema_hole_l1``.
            The decay after t updates is ``min(ema_decay, (1 + t) / (10 + t))``. Our default
            0.999 (an average over about 1,000 steps); 0 turns it off.
    """

    global_batch_size: int = 8
    steps_per_epoch: int = 1000
    epochs: int = 100
    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    seed: int = 0
    validation_steps: int = 4
    num_samples: int = 4
    nan_policy: str = "stop"
    precision: str = "float32"
    jit_compile: str = "auto"
    ema_decay: float = 0.999

    def __post_init__(self):
        c = "TrainConfig"
        if not isinstance(self.ema_decay, (int, float)) or not 0 <= self.ema_decay < 1:
            _fail(c, "ema_decay", f"must be in [0, 1), got {self.ema_decay!r}")
        _choice(c, "nan_policy", self.nan_policy, NAN_POLICIES)
        _choice(c, "precision", self.precision, PRECISIONS)
        _choice(c, "jit_compile", self.jit_compile, JIT_COMPILE)
        _positive(
            c,
            global_batch_size=self.global_batch_size,
            steps_per_epoch=self.steps_per_epoch,
            epochs=self.epochs,
            num_samples=self.num_samples,
        )
        _non_negative_float(
            c,
            g_learning_rate=self.g_learning_rate,
            d_learning_rate=self.d_learning_rate,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
        )
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            _fail(c, "seed", f"must be a non-negative integer, got {self.seed!r}")
        if not isinstance(self.validation_steps, int) or self.validation_steps < 0:
            _fail(c, "validation_steps", f"must be >= 0, got {self.validation_steps!r}")


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """Everything a training run needs; written as ``config.json`` in the run directory."""

    name: str = "pggan-dres"
    generator: GeneratorConfig = dataclasses.field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = dataclasses.field(default_factory=DiscriminatorConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    mask: MaskConfig = dataclasses.field(default_factory=MaskConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def __post_init__(self):
        m = self.generator.pad_multiple
        if self.data.image_size % m:
            _fail(
                "DataConfig",
                "image_size",
                f"{self.data.image_size} is not a multiple of {m} (2**num_downsamplings)",
            )
        if self.data.image_size % self.discriminator.patch_stride:
            _fail(
                "DataConfig",
                "image_size",
                f"{self.data.image_size} is not a multiple of the discriminator's patch stride "
                f"{self.discriminator.patch_stride}",
            )
        patch = self.discriminator.local_patch_size
        if patch is not None and patch > self.data.image_size:
            _fail(
                "DiscriminatorConfig",
                "local_patch_size",
                f"{patch} is larger than the training crop {self.data.image_size}",
            )

    # -- JSON round trip -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-serialisable dict (tuples become lists)."""
        return dataclasses.asdict(self)

    def to_json(self, indent: int = 2) -> str:
        """Returns the config as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentConfig:
        """Builds a config from a dict; unknown or mistyped fields raise ``ValueError``."""
        return _from_dict(cls, d, "ExperimentConfig")

    @classmethod
    def from_json(cls, text: str) -> ExperimentConfig:
        """Parses :meth:`to_json` output."""
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"config is not valid JSON: {e}") from e
        return cls.from_dict(d)

    @classmethod
    def load(cls, path: str) -> ExperimentConfig:
        """Reads a ``config.json`` file."""
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            return cls.from_json(text)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from e

    def replace(self, **sections: Any) -> ExperimentConfig:
        """Returns a copy with fields replaced; sections take dicts of field overrides.

        Example:
            ``cfg.replace(name="x", train={"epochs": 2}, data={"image_size": 128})``
        """
        d = self.to_dict()
        for key, value in sections.items():
            if key not in d:
                raise ValueError(f"ExperimentConfig has no field {key!r}")
            if isinstance(value, dict):
                if not isinstance(d[key], dict):
                    raise ValueError(f"ExperimentConfig.{key} is not a section")
                d[key] = {**d[key], **value}
            else:
                d[key] = value
        return self.from_dict(d)


def _from_dict(cls: type, d: Any, where: str) -> Any:
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}")
    kwargs = {}
    for name, value in d.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint):
            kwargs[name] = _from_dict(hint, value, f"{where}.{name}")
        elif typing.get_origin(hint) is tuple:
            if not isinstance(value, (list, tuple)):
                raise ValueError(f"{where}.{name}: expected a list, got {value!r}")
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)


# Presets live in keras_pggan.presets (this module is the schema); both names stay importable
# from here. Resolved on first use: presets imports this module's classes.
_PRESET_NAMES = ("PRESETS", "get_preset")


def __getattr__(name: str):
    if name in _PRESET_NAMES:
        from keras_pggan import presets

        return getattr(presets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
