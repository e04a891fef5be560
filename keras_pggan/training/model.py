"""``PGGAN``: the generator and the two-headed discriminator trained together with ``fit``.

``BaselineGAN`` runs the same training step for the paper's baselines (Context Encoder, GLGAN),
whose discriminators give one logit and may read the mask.

Example:
    >>> from keras_pggan.config import get_preset
    >>> from keras_pggan.models.generator import build_generator
    >>> from keras_pggan.models.discriminator import build_discriminator
    >>> cfg = get_preset("tiny")
    >>> gan = PGGAN(build_generator(cfg.generator),
    ...             build_discriminator(cfg.discriminator, cfg.data.image_size), cfg.loss)
    >>> gan.compile()   # Adam(2e-4, β1=0.5) for both, built at once
    >>> # under mixed_float16 both are wrapped in keras.optimizers.LossScaleOptimizer
    >>> # gan.fit(dataset_of_{"image", "mask"}_batches, steps_per_epoch=..., epochs=...)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from keras_pggan.config import LossConfig
from keras_pggan.inference.fill import composite, fill_holes, to_model_range
from keras_pggan.models.discriminator import trunk_features, trunk_layers
from keras_pggan.training import losses
from keras_pggan.training.guards import SkippedSteps, apply_if_finite, apply_loss_scaled

METRIC_NAMES = (
    "g_loss",
    "g_l1",
    "g_adv_global",
    "g_adv_patch",
    "d_loss",
    "d_global",
    "d_patch",
    "hole_l1",
)
# The baselines have one adversarial logit: PGGAN's values under these names (see BaselineGAN).
BASELINE_METRIC_NAMES = ("g_loss", "g_rec", "g_adv", "d_loss", "hole_l1")
# Logged when the loss has a feature-matching term (LossConfig.feature_matching_weight).
FEATURE_MATCHING = "g_feature_matching"
# Training logs only, where steps can be skipped (nan_policy="skip" or loss scaling).
SKIPPED_STEPS = "skipped_steps"
LOSS_SCALE_NAMES = ("g_loss_scale", "d_loss_scale")  # under loss scaling (mixed_float16)


def batch_dict(data):
    """The ``{"image","mask"}`` dict of a batch; ``train_on_batch(x)`` packs it as ``(x,)``."""
    while isinstance(data, (tuple, list)):
        data = data[0]
    return data


def hole_l1_per_example(images, composited, masks):
    """[0,1]-scale L1 over hole pixels, per example, of images in [-1,1]: the ``hole_l1`` metric.

    A loss-independent measure of inpainting quality (also ``val_ema_hole_l1``,
    keras_pggan.training.ema).
    """
    return losses.reconstruction_loss(images, composited, masks, "hole") * 0.5


def _global_mean(per_replica_scaled):
    """All-reduces a per-replica loss already divided by the global batch into the global mean.

    Each replica divides its per-example sum by the *global* batch size, so summing over replicas
    gives the mean over the global batch; the trackers then hold the same value on every replica.
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, per_replica_scaled)
    return per_replica_scaled


class PGGAN(keras.Model):
    """Patch-based GAN for inpainting (Demir & Unal 2018).

    ``train_step`` alternates one discriminator update and one generator update on the same
    composited fake. Batches follow the project's contract: ``{"image": float32 [B,H,W,3] in
    [0,1], "mask": float32 [B,H,W,1]}`` with 1 = hole.

    Logged per step: ``g_loss`` (λ1·L1 + λ2·adv_global + λ3·adv_patch), ``g_l1``, ``g_adv_global``,
    ``g_adv_patch``, ``d_loss`` (= ``d_global`` + ``d_patch``), ``d_global``, ``d_patch``, and
    ``hole_l1`` (mean |output − truth| on hole pixels, [0,1] scale). A head the discriminator
    does not have (ablations) logs 0. No key is called ``loss``: Keras overwrites that key.
    With ``loss_config.feature_matching_weight``, also ``g_feature_matching`` (the term before
    its weight; ``g_loss`` holds it weighted). Where a step can be skipped, training also logs
    ``skipped_steps`` (steps of the epoch in which either update was skipped), and under loss
    scaling ``g_loss_scale`` and ``d_loss_scale`` (each optimiser's current scale).

    Under a ``mixed_float16`` generator or discriminator, ``compile`` wraps both optimisers in
    ``keras.optimizers.LossScaleOptimizer``: each phase scales its loss, the optimiser unscales
    the gradients, and a step whose scaled gradients overflow updates nothing in that phase and
    halves the scale (``guards.apply_loss_scaled``; under either ``nan_policy``: the losses
    stay finite, so ``"stop"`` does not stop for it).

    Args:
        generator: model from ``build_generator``.
        discriminator: model from ``build_discriminator``.
        loss_config: loss weights and kinds; defaults to the paper's weights.
        nan_policy: ``"stop"`` (apply every step; ``guards.NonFiniteGuard`` stops the run) or
            ``"skip"``: a step whose gradients hold a NaN/Inf on any replica updates nothing and
            leaves the logged means untouched (``guards.apply_if_finite``).
        **kwargs: passed to ``keras.Model``.
    """

    metric_names = METRIC_NAMES

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        loss_config: LossConfig | None = None,
        nan_policy: str = "stop",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if nan_policy not in ("stop", "skip"):
            raise ValueError(f"nan_policy must be 'stop' or 'skip', got {nan_policy!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.loss_config = loss_config or LossConfig()
        self.nan_policy = nan_policy
        if self.loss_config.feature_matching_weight:
            trunk_layers(discriminator)  # fails early without a trunk
            self.metric_names = self.metric_names + (FEATURE_MATCHING,)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in self.metric_names}
        self.skipped_steps = None  # a guards.SkippedSteps once compile knows steps can skip
        self.g_optimizer = None
        self.d_optimizer = None
        # Sub-models are built; marking the wrapper built lets BackupAndRestore and
        # save_weights work before the first step.
        self.built = True

    @property
    def metrics(self):
        extra = [self.skipped_steps] if self.skipped_steps is not None else []
        return list(self.trackers.values()) + extra

    @property
    def loss_scaling(self) -> bool:
        """Whether both optimisers scale the loss (``LossScaleOptimizer``; set by ``compile``)."""
        return all(
            isinstance(o, keras.optimizers.LossScaleOptimizer)
            for o in (self.g_optimizer, self.d_optimizer)
        )

    def compile(self, g_optimizer=None, d_optimizer=None, auto_scale_loss=True, **kwargs):
        """Sets the two optimisers (Adam(2e-4, β1=0.5) by default) and builds them at once.

        Building here, under the caller's strategy scope, creates every optimiser variable before
        ``fit``: Keras' BackupAndRestore otherwise restores into unbuilt optimisers and silently
        drops their state (moments, iteration count and, under loss scaling, the scale and its
        growth counter).

        Args:
            g_optimizer: the generator's optimiser.
            d_optimizer: the discriminator's optimiser.
            auto_scale_loss: wrap both in ``keras.optimizers.LossScaleOptimizer`` when the
                generator or the discriminator computes in float16 (as ``keras.Model.compile``
                does for its one optimiser, which is ``None`` here).
            **kwargs: passed to ``keras.Model.compile`` (e.g. ``jit_compile``).
        """
        kwargs.setdefault("optimizer", None)
        super().compile(**kwargs)
        g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5, name="g_adam")
        d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5, name="d_adam")
        float16 = any(
            m.dtype_policy.name == "mixed_float16" for m in (self.generator, self.discriminator)
        )
        if auto_scale_loss and float16:
            g_optimizer, d_optimizer = (
                o
                if isinstance(o, keras.optimizers.LossScaleOptimizer)
                else keras.optimizers.LossScaleOptimizer(o, name=f"{o.name}_loss_scale")
                for o in (g_optimizer, d_optimizer)
            )
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        can_skip = self.nan_policy == "skip" or any(
            isinstance(o, keras.optimizers.LossScaleOptimizer) for o in (g_optimizer, d_optimizer)
        )
        if can_skip and self.skipped_steps is None:
            self.skipped_steps = SkippedSteps(name=SKIPPED_STEPS)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Skips Keras' symbolic build: PGGAN is built in ``__init__`` and ``compile``.

        Keras 3.15's TF trainer pulls a batch off the iterator here and ``strategy.reduce``-s it;
        under ``MultiWorkerMirroredStrategy`` that reduce fails on dict batches ("Attempt to
        convert a value ({'image': PerReplica...}) with an unsupported type"). Nothing it would
        build is missing: both sub-models, both optimisers and the loss trackers exist already.
        """
        del iterator, data_batch

    def call(self, inputs, training=False):
        """Returns the composited inpainting in [0,1] for a batch dict ``{"image","mask"}``."""
        return fill_holes(self.generator, inputs["image"], inputs["mask"], training=training)

    # -- loss pieces ---------------------------------------------------------------------------
    def _discriminate(self, images, masks, training):
        """Discriminator logits for images in [-1,1]; subclasses may also read the mask."""
        del masks
        return self.discriminator(images, training=training)

    def _reconstruction(self, images, fake_raw, masks):
        """Per-example reconstruction term: L1, or L2 (squared error) with ``distance="l2"``."""
        cfg = self.loss_config
        if cfg.distance == "l2":
            # The L1 of the squared difference against zero is the (masked, weighted) L2.
            squared = tf.square(tf.cast(images, tf.float32) - tf.cast(fake_raw, tf.float32))
            return losses.reconstruction_loss(
                squared, tf.zeros_like(squared), masks, cfg.reconstruction, cfg.hole_weight
            )
        weights = None
        if cfg.colour_space == "ycbcr":
            images, fake_raw = losses.rgb_to_ycbcr(images), losses.rgb_to_ycbcr(fake_raw)
            weights = (1.0, cfg.chroma_weight, cfg.chroma_weight)
        return losses.reconstruction_loss(
            images, fake_raw, masks, cfg.reconstruction, cfg.hole_weight, weights
        )

    def _scale(self, per_example):
        # Divide the per-replica sum by the GLOBAL batch: gradients are SUM-all-reduced across
        # replicas, so the result equals the single-device mean over the global batch.
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        global_batch = tf.shape(per_example)[0] * replicas
        return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)

    def _d_losses(self, real_out, fake_out):
        kind = self.loss_config.adversarial
        zero = tf.constant(0.0)
        d_global = d_patch = zero
        if "global" in real_out:
            d_global = self._scale(
                losses.discriminator_adversarial_loss(real_out["global"], fake_out["global"], kind)
            )
        if "patch" in real_out:
            d_patch = self._scale(
                losses.discriminator_adversarial_loss(real_out["patch"], fake_out["patch"], kind)
            )
        return d_global, d_patch

    def _g_losses(self, images, fake_raw, composited, masks, fake_out, training=True):
        cfg = self.loss_config
        rec = self._reconstruction(images, fake_raw, masks)
        if cfg.colour_lowpass_weight:
            rec = rec + cfg.colour_lowpass_weight * losses.colour_lowpass_loss(
                images, fake_raw, masks
            )
        g_l1 = self._scale(rec)
        g_global = g_patch = tf.constant(0.0)
        if "global" in fake_out:
            g_global = self._scale(
                losses.generator_adversarial_loss(fake_out["global"], cfg.adversarial)
            )
        if "patch" in fake_out:
            g_patch = self._scale(
                losses.generator_adversarial_loss(fake_out["patch"], cfg.adversarial)
            )
        global_weight, patch_weight = cfg.global_adv_weight, cfg.patch_adv_weight
        if cfg.warmup_steps:
            # Reconstruction-only warm-up (GLGAN's first phase); the optimiser's step count is
            # part of the resume state, so a resumed run stays in the right phase.
            on = tf.cast(self.g_optimizer.iterations >= cfg.warmup_steps, tf.float32)
            global_weight, patch_weight = global_weight * on, patch_weight * on
        g_loss = cfg.l1_weight * g_l1 + global_weight * g_global + patch_weight * g_patch
        extra = {}
        if cfg.feature_matching_weight:
            extra[FEATURE_MATCHING] = self._scale(
                losses.feature_matching_loss(
                    trunk_features(self.discriminator, images, training=training),
                    trunk_features(self.discriminator, composited, training=training),
                )
            )
            g_loss = g_loss + cfg.feature_matching_weight * extra[FEATURE_MATCHING]
        return g_loss, g_l1, g_global, g_patch, extra

    def _hole_l1(self, images, composited, masks):
        return self._scale(hole_l1_per_example(images, composited, masks))

    def _apply(self, optimizer, grads, variables):
        """Applies the gradients; returns whether it did (scalar bool, agreed by the replicas).

        A ``LossScaleOptimizer`` skips a non-finite step itself and lowers its scale (under
        either policy: ``apply_if_finite`` would skip without lowering it, for ever); otherwise
        ``nan_policy="skip"`` applies only finite gradients and ``"stop"`` applies every step.
        """
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            return apply_loss_scaled(optimizer, grads, variables)
        if self.nan_policy == "skip":
            return apply_if_finite(optimizer, grads, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return tf.constant(True)

    def _update_trackers(self, values, applied=None):
        for name, value in values.items():
            value = _global_mean(value)
            if applied is None:
                self.trackers[name].update_state(value)
            else:  # a skipped step adds nothing to the epoch means (0 · NaN would be NaN)
                self.trackers[name].update_state(
                    tf.where(applied, value, tf.zeros_like(value)),
                    sample_weight=tf.cast(applied, value.dtype),
                )

    def _results(self, training=False):
        results = {name: t.result() for name, t in self.trackers.items()}
        if training and self.skipped_steps is not None:
            results[SKIPPED_STEPS] = self.skipped_steps.result()
        if training:
            for name, opt in zip(LOSS_SCALE_NAMES, (self.g_optimizer, self.d_optimizer)):
                if isinstance(opt, keras.optimizers.LossScaleOptimizer):
                    results[name] = tf.convert_to_tensor(opt.dynamic_scale)
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras concatenates per-replica outputs under MultiWorkerMirroredStrategy, which
            # fails on scalars: return shape [1].
            results = {k: tf.reshape(v, [1]) for k, v in results.items()}
        return results

    # -- steps -----------------------------------------------------------------------------------
    def train_step(self, data):
        # Phase 1: inputs in [-1,1]; the generator zeroes the holes itself.
        data = batch_dict(data)
        images = to_model_range(tf.cast(data["image"], tf.float32))
        masks = tf.cast(data["mask"], tf.float32)

        with tf.GradientTape() as g_tape:
            fake_raw = self.generator({"image": images, "mask": masks}, training=True)
            composited = composite(fake_raw, images, masks)

            # Phase 2: discriminator step on real vs the composited fake. Not recorded on the
            # generator tape, and the fake is a constant to D, so it moves only D's weights.
            with g_tape.stop_recording():
                fake_const = tf.stop_gradient(composited)
                with tf.GradientTape() as d_tape:
                    real_out = self._discriminate(images, masks, training=True)
                    fake_out_d = self._discriminate(fake_const, masks, training=True)
                    d_global, d_patch = self._d_losses(real_out, fake_out_d)
                    d_loss = d_global + d_patch
                    # The identity without loss scaling. Under mixed_float16 the float16
                    # backward pass would flush small gradients to 0: the scaled loss keeps
                    # them in range and the LossScaleOptimizer divides them back (_apply).
                    scaled_d_loss = self.d_optimizer.scale_loss(d_loss)
                d_vars = self.discriminator.trainable_variables
                d_applied = self._apply(
                    self.d_optimizer, d_tape.gradient(scaled_d_loss, d_vars), d_vars
                )

            # Phase 3: generator step against the freshly updated discriminator, reusing the
            # same forward pass of G (no second generator evaluation).
            fake_out = self._discriminate(composited, masks, training=True)
            g_loss, g_l1, g_global, g_patch, extra = self._g_losses(
                images, fake_raw, composited, masks, fake_out
            )
            scaled_g_loss = self.g_optimizer.scale_loss(g_loss)
        g_vars = self.generator.trainable_variables
        g_applied = self._apply(self.g_optimizer, g_tape.gradient(scaled_g_loss, g_vars), g_vars)

        # Phase 4: trackers hold global-batch means, identical on every replica; a skipped
        # step is counted (skipped_steps), and under "skip" leaves the loss means untouched.
        applied = d_applied & g_applied
        if self.skipped_steps is not None:
            self.skipped_steps.update_state(applied)
        self._update_trackers(
            {
                "g_loss": g_loss,
                "g_l1": g_l1,
                "g_adv_global": g_global,
                "g_adv_patch": g_patch,
                "d_loss": d_loss,
                "d_global": d_global,
                "d_patch": d_patch,
                "hole_l1": self._hole_l1(images, composited, masks),
                **extra,
            },
            applied if self.nan_policy == "skip" else None,
        )
        return self._results(training=True)

    def test_step(self, data):
        # Same losses as train_step, no updates, inference-mode forward passes.
        data = batch_dict(data)
        images = to_model_range(tf.cast(data["image"], tf.float32))
        masks = tf.cast(data["mask"], tf.float32)
        fake_raw = self.generator({"image": images, "mask": masks}, training=False)
        composited = composite(fake_raw, images, masks)
        real_out = self._discriminate(images, masks, training=False)
        fake_out = self._discriminate(composited, masks, training=False)
        d_global, d_patch = self._d_losses(real_out, fake_out)
        g_loss, g_l1, g_global, g_patch, extra = self._g_losses(
            images, fake_raw, composited, masks, fake_out, training=False
        )
        self._update_trackers(
            {
                "g_loss": g_loss,
                "g_l1": g_l1,
                "g_adv_global": g_global,
                "g_adv_patch": g_patch,
                "d_loss": d_global + d_patch,
                "d_global": d_global,
                "d_patch": d_patch,
                "hole_l1": self._hole_l1(images, composited, masks),
                **extra,
            }
        )
        return self._results()


class BaselineGAN(PGGAN):
    """PGGAN's training step for the single-discriminator baselines (Context Encoder, GLGAN).

    The discriminator returns ``{"global": (B,1)}``: one logit per image (for GLGAN, computed from
    the global and the local features together). A discriminator with dict inputs ``{"image",
    "mask"}`` also receives the mask (GLGAN's local discriminator crops its patch around the hole).

    Logged per step: ``g_loss``, ``g_rec`` (the reconstruction term, L1 or L2 per
    ``loss_config.distance``), ``g_adv``, ``d_loss`` and ``hole_l1`` (as in PGGAN).

    Args:
        generator: a generator model (dict inputs ``image``, ``mask``).
        discriminator: a model giving ``{"global": logits}``.
        loss_config: ``l1_weight`` weighs the reconstruction, ``global_adv_weight`` the
            adversarial term.
        **kwargs: passed to ``keras.Model``.
    """

    metric_names = BASELINE_METRIC_NAMES
    _LOGGED = {
        "g_loss": "g_loss",
        "g_l1": "g_rec",
        "g_adv_global": "g_adv",
        "d_loss": "d_loss",
        "hole_l1": "hole_l1",
    }

    def _discriminate(self, images, masks, training):
        if isinstance(self.discriminator.input, dict):
            return self.discriminator({"image": images, "mask": masks}, training=training)
        return self.discriminator(images, training=training)

    def _update_trackers(self, values, applied=None):
        # One adversarial logit: PGGAN's patch terms are 0 and d_global equals d_loss.
        super()._update_trackers({new: values[old] for old, new in self._LOGGED.items()}, applied)
