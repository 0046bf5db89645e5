"""The typed stage configuration: pydantic models, the single source of truth.

Everything else (defaults, validation, CLI coercion, UI field descriptors, docs)
is derived from these models and their field metadata:

* ``description`` -> help text, ``title`` -> label (else derived from the name);
* ``ge/gt/le/lt``, ``Literal[...]``, ``pattern`` -> bounds, choices, checks;
* ``json_schema_extra`` keys read by :mod:`engine.config.introspect`:
  ``section`` (a field shown in another UI section than its parent),
  ``null_label`` (what ``null`` means, e.g. ``"off"``), ``allowed`` (a human
  description replacing the derived one), ``ui`` (``"expression"``);
  on :class:`StageConfig` collection fields: ``outline`` (the
  :class:`~engine.config.outline.ProblemOutline` attribute naming the entries),
  ``placeholder`` and ``noun``.

Variants (optimizers, schedulers, architectures) are discriminated unions built by
:func:`tagged`; a missing discriminator means the union's default variant.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from engine.config.weights import parse_weight

NULL_WORDS = frozenset({"null", "none", "off"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


def _null_words(value: Any) -> Any:
    """Accept ``"off"``/``"none"``/``"null"`` for optional settings stored as JSON."""
    if isinstance(value, str) and value.strip().lower() in NULL_WORDS:
        return None
    return value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class DefaultTag:
    """``BeforeValidator`` payload: fills in the discriminator when an entry omits it."""

    def __init__(self, discriminator: str, default: str):
        self.discriminator = discriminator
        self.default = default

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and self.discriminator not in value:
            return {self.discriminator: self.default, **value}
        return value


def tagged(*models: type[BaseModel], discriminator: str, default: str) -> Any:
    """A discriminated union of ``models`` on ``discriminator`` whose default variant is ``default``."""
    return Annotated[
        Union[models],  # type: ignore[valid-type]
        Field(discriminator=discriminator),
        BeforeValidator(DefaultTag(discriminator, default)),
    ]


def Nullable(tp: Any) -> Any:
    """``Optional[tp]`` that also accepts the words ``off``/``none``/``null`` for ``None``."""
    return Annotated[Optional[tp], BeforeValidator(_null_words)]

# --------------------------------------------------------------------------- training

LOSS_BALANCING = ("none", "lr_annealing", "gradnorm", "relobralo", "self_adaptive")
"""``training.loss_balancing`` choices; ``engine.train.balancing.registry`` holds a balancer for each."""
BASE_SAMPLERS = ("uniform", "sobol", "halton")
ADAPTIVE_SAMPLERS = ("rad", "rar_d")
"""``training.sampler`` values that draw by residual; ``engine.train.adaptive.registry`` builds each."""


# adaptive sampling (training.sampler=rad|rar_d): Wu et al. 2023
class AdaptiveSampling(_Model):
    k: float = Field(
        1.0,
        ge=0,
        le=10,
        title="Adaptive k",
        description="Exponent of the residual in the sampling density |r|^k / mean(|r|^k) + c (0: uniform).",
    )
    c: float = Field(
        1.0,
        ge=0,
        le=1e6,
        title="Adaptive c",
        description="Uniform share of the sampling density |r|^k / mean(|r|^k) + c (larger: closer to uniform).",
    )
    pool: int = Field(
        10000,
        ge=2,
        le=10**7,
        title="Candidate pool",
        description="Candidate points drawn (with pool_sampler) and scored by their residual at every resample "
        "(training.resample_every); at least each adapted constraint's batch_size (rad) or add (rar_d).",
    )
    pool_sampler: Literal[BASE_SAMPLERS] = Field(  # type: ignore[valid-type]
        "sobol", description="How the candidate pool (and the batches of terms that are not adapted) are drawn."
    )
    add: int = Field(
        100,
        ge=1,
        title="RAR-D points added",
        description="rar_d only: points drawn from the pool and added to each adapted constraint's batch at "
        "every resample.",
    )
    max_growth: float = Field(
        2.0,
        gt=1,
        le=100,
        title="RAR-D max growth",
        description="rar_d only: a constraint's batch holds at most batch_size * max_growth points; beyond it "
        "the oldest added points make room for new ones.",
    )


class Training(_Model):
    max_steps: int = Field(1000, ge=1, title="Max steps", description="Number of optimizer steps in this stage.")
    precision: Literal["float32", "float64"] = Field(
        "float32", description="Floating-point precision of the networks and the sampled points."
    )
    device: Annotated[str, BeforeValidator(_lower)] = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda|cuda:\d+)$",
        description="Where to train: auto (a GPU when there is one), cpu, cuda, or cuda:N for GPU number N.",
        json_schema_extra={"allowed": "auto, cpu, cuda or cuda:N"},
    )
    seed: int = Field(0, ge=0, description="Random seed for network initialisation and point sampling.")
    log_every: int = Field(10, ge=1, description="Record losses every this many steps.")
    checkpoint_every: int = Field(500, ge=1, description="Save a checkpoint every this many steps.")
    grad_clip: Nullable(float) = Field(
        None,
        gt=0,
        title="Gradient clipping",
        description="Clip the gradient norm to this value; off (null) disables clipping.",
        json_schema_extra={"null_label": "off"},
    )
    target_loss: Nullable(float) = Field(
        None,
        gt=0,
        description="Stop the stage early once the total loss falls below this; null trains for max_steps.",
        json_schema_extra={"null_label": "null"},
    )
    resample_every: int = Field(1, ge=1, description="Draw new collocation points every this many steps.")
    sampler: Literal[BASE_SAMPLERS + ADAPTIVE_SAMPLERS] = Field(  # type: ignore[valid-type]
        "uniform",
        description="How collocation points are drawn: uniform random or a quasi-random sequence (sobol, halton); "
        "rad and rar_d place interior points where the residual is large (settings training.rad.*; "
        "boundary and data terms draw with training.rad.pool_sampler).",
    )
    sampled: bool = Field(
        False,
        description="Draw batches from the points `mtc sample` stored in samples/<subdomain>.hdf5 instead of "
        "sampling the geometry each step (`mtc train --sampled`).",
    )
    correction_frequency: Literal["error", "residual"] = Field(
        "error",
        description="Correction stages only: f_d, the frequency their Fourier features start at, is the peak of "
        "the error spectrum the parent's residual implies (its FFT divided by (2 pi f)^k for a k-th order "
        "equation; error) or of the residual's own FFT (residual, Wang & Lai's choice).",
    )
    then_lbfgs_steps: int = Field(
        0,
        ge=0,
        title="Then L-BFGS steps",
        description="After max_steps, this many L-BFGS steps in the same stage (strong Wolfe, on one fixed "
        "batch per constraint drawn when they start); 0 turns them off.",
    )
    then_lm_steps: int = Field(
        0,
        ge=0,
        title="Then LM steps",
        description="After max_steps (and then_lbfgs_steps), this many Levenberg-Marquardt steps in the same "
        "stage (the optimizer's settings when optimizer.name is lm, else lm's defaults; on one fixed batch "
        "per constraint, drawn as often as optimizer points_per_parameter needs); 0 turns them off. Use float64.",
    )
    # loss balancing (issue 11): the weights engine.train.balancing gives each trained constraint
    loss_balancing: Literal[LOSS_BALANCING] = Field(  # type: ignore[valid-type]
        "none",
        description="Adapt each trained constraint's loss weight while training (the constraint's own weight "
        "multiplies it): none, lr_annealing (Wang et al. 2021, gradient-norm ratios), gradnorm (Chen et al. 2018), "
        "relobralo (Bischof & Kraus 2021, relative loss progress) or self_adaptive (McClenny & Braga-Neto, one "
        "trainable weight per point on points fixed for the stage). First-order optimizers only; the finishing "
        "steps keep the last weights (L-BFGS) or use the constraints' own weights (LM).",
    )
    balance_every: int = Field(10, ge=1, description="Loss balancing: update the weights every this many steps.")
    balance_alpha: float = Field(
        0.1,
        gt=0,
        le=1,
        description="Loss balancing (lr_annealing, relobralo): weight of the newest estimate in the moving "
        "average of the weights (new = (1 - alpha) old + alpha estimate).",
    )
    balance_lr: float = Field(
        0.025,
        gt=0,
        title="Balance LR",
        description="Loss balancing (gradnorm, self_adaptive): step size of the weights' own updates (Adam on "
        "gradnorm's weights; gradient ascent on self_adaptive's, relative to the largest point's gradient).",
    )
    gradnorm_alpha: float = Field(
        1.5, ge=0, title="GradNorm alpha", description="GradNorm's asymmetry: how strongly a slowly training constraint gets more weight."
    )
    relobralo_temperature: float = Field(
        0.1, gt=0, title="ReLoBRaLo temperature", description="ReLoBRaLo's softmax temperature (smaller: sharper weights)."
    )
    relobralo_rho: float = Field(
        0.999,
        ge=0,
        le=1,
        title="ReLoBRaLo rho",
        description="ReLoBRaLo's expected lookback: the probability that an update keeps the weights' history "
        "instead of looking back to the first losses.",
    )
    # stop on plateau (issue 11)
    stop_on_plateau: bool = Field(
        False,
        description="End the stage (as done) once the total loss has not improved by plateau_min_delta "
        "(relative) over plateau_patience logged checks.",
    )
    plateau_patience: int = Field(
        20, ge=1, description="Stop on plateau: logged checks (every log_every steps) without improvement before the stage ends."
    )
    plateau_min_delta: float = Field(
        1e-3, ge=0, lt=1, title="Plateau min delta", description="Stop on plateau: relative improvement of the best total loss that counts."
    )
    # adaptive sampling (training.sampler=rad|rar_d)
    rad: AdaptiveSampling = Field(
        default_factory=AdaptiveSampling, title="Adaptive sampling", description="Settings of sampler rad and rar_d."
    )
    # speed (issue 15): forward-propagated derivatives and torch.compile
    derivatives: Literal["auto", "forward", "autograd"] = Field(
        "auto",
        description="How the residuals' derivatives are computed: forward (propagated through the layers with "
        "the values, one forward pass; every built-in architecture and activation), autograd (nested reverse "
        "mode, any network), or auto (forward where every network is covered, else autograd; the stage log "
        "says which and why).",
    )
    compile: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Compile the loss step with torch.compile (forward derivatives only; a warm-up of tens of "
        "seconds, not counted in the stage's time): on, off, or auto (on when a C++ compiler is found and the "
        "stage's steps x points per step x parameters reach 1e10, so the warm-up pays back). Never compiled with "
        "the LM/ENGD optimizers or loss_balancing=lr_annealing|gradnorm (they differentiate each term apart).",
    )
    # stage time budget (issue 10): engine.train.time_budget
    max_time: Nullable(float) = Field(
        None,
        gt=0,
        title="Max time",
        description="End the stage (as done, saying so) once it has run this many seconds of wall time, counted "
        "from the worker's start of the stage: its preparation (a correction stage's parent residual, a compile "
        "warm-up: compile=auto does not compile under 300 s), every step and the finishing steps; it ends before "
        "a step that, as long as the last one, would end past the limit, and keeps time for a correction stage's guard. "
        "A resumed stage counts the total: its earlier runs' time up to its checkpoint, plus this run's. "
        "off (null): no limit.",
        json_schema_extra={"null_label": "off"},
    )
    # second corrections (issue 10): new points during a correction stage's finishing steps
    correction_resample_every: int = Field(
        0,
        ge=0,
        description="Correction stages only: during the finishing steps (then_lbfgs_steps, then_lm_steps) draw new "
        "points every this many steps (L-BFGS restarts on each batch); 0 keeps one batch, drawn when they start.",
    )


# -------------------------------------------------------------------------- optimizers

_UnitOpen = Annotated[float, Field(ge=0, lt=1)]


class Adam(_Model):
    name: Literal["adam"] = Field("adam", title="Optimizer", description="Optimization algorithm.")
    lr: float = Field(
        5e-3,
        gt=0,
        title="Learning rate",
        description="Initial learning rate (the default, 5e-3: docs/techniques.md, item 6's learning-rate study).",
    )
    betas: tuple[_UnitOpen, _UnitOpen] = Field(
        (0.9, 0.999), description="Decay rates of the first and second moment estimates."
    )
    eps: float = Field(1e-8, gt=0, title="Epsilon", description="Term added to the denominator for numerical stability.")
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty added to the gradient.")


class AdamW(Adam):
    name: Literal["adamw"] = Field("adamw", title="Optimizer", description="Optimization algorithm.")
    weight_decay: float = Field(1e-2, ge=0, description="Decoupled weight decay.")


class SGD(_Model):
    name: Literal["sgd"] = Field("sgd", title="Optimizer", description="Optimization algorithm.")
    lr: float = Field(1e-3, gt=0, title="Learning rate", description="Initial learning rate.")
    momentum: float = Field(0.9, ge=0, description="Momentum factor.")
    weight_decay: float = Field(0.0, ge=0, description="L2 penalty added to the gradient.")


class LBFGS(_Model):
    name: Literal["lbfgs"] = Field("lbfgs", title="Optimizer", description="Optimization algorithm.")
    lr: float = Field(1.0, gt=0, title="Learning rate", description="Step length (L-BFGS usually keeps 1.0).")
    max_iter: int = Field(20, ge=1, description="Maximum inner iterations per optimizer step.")
    history_size: int = Field(100, ge=1, description="Number of past updates kept to approximate the Hessian.")
    line_search: Literal["strong_wolfe", "none"] = Field(
        "strong_wolfe", description="Line search: strong_wolfe, or none for fixed steps of lr."
    )


class _GaussNewtonSettings(_Model):
    """Settings shared by the Gauss-Newton methods (lm, engd): the linear solve and the residual count."""

    lm_max_dense: int = Field(
        4000,
        ge=1,
        title="LM max dense",
        description="Largest number of trainable parameters solved densely (Cholesky of J^T J + damping, "
        "P x P); above it conjugate gradients (lm_cg) or, with lm_cg false, the stage is refused. Up to 4000 "
        "the dense step (J^T J once, 122 MiB at 4000) costs at most half of one CG solve of cg_max_iter=200 "
        "iterations on one CPU thread (benchmarks/lm_solve.py).",
    )
    lm_cg: bool = Field(
        True,
        title="LM conjugate gradients",
        description="Above lm_max_dense parameters, solve matrix-free by conjugate gradients on the stored "
        "Jacobian (memory: residuals x parameters numbers); false refuses such networks.",
    )
    cg_max_iter: int = Field(200, ge=1, title="CG max iterations", description="Conjugate-gradient iterations per solve.")
    points_per_parameter: float = Field(
        4.0,
        ge=1,
        description="Each step uses at least this many residuals per trainable parameter: every constraint's "
        "batch is drawn as many times as needed (fewer residuals than parameters lets the fit interpolate "
        "the points and oscillate between them).",
    )


class LM(_GaussNewtonSettings):
    name: Literal["lm"] = Field("lm", title="Optimizer", description="Optimization algorithm.")
    damping: float = Field(
        1e-3,
        gt=0,
        description="Initial damping, relative to the largest diagonal entry of J^T J; adapted every step "
        "(divided by 3 after a step that lowers the loss, raised 2x, 4x, ... after a trial that does not).",
    )
    max_tries: int = Field(10, ge=1, description="Trial steps (each with more damping) per Jacobian before giving up the step.")


class ENGD(_GaussNewtonSettings):
    name: Literal["engd"] = Field("engd", title="Optimizer", description="Optimization algorithm.")
    damping: float = Field(
        1e-10,
        gt=0,
        description="Regularisation of the Gramian J^T J, relative to its mean diagonal entry.",
    )
    line_search_points: int = Field(
        20, ge=1, description="Step sizes 1, 1/2, ..., 2^-(n-1) tried along the natural gradient; the best is taken."
    )


OPTIMIZER_SETTINGS: dict[str, type[_Model]] = {
    "adam": Adam, "adamw": AdamW, "sgd": SGD, "lbfgs": LBFGS, "lm": LM, "engd": ENGD,
}  # fmt: skip
"""``optimizer.name`` -> its settings; ``engine.train.optim.registry`` holds a builder for each name."""
OptimizerConfig = tagged(*OPTIMIZER_SETTINGS.values(), discriminator="name", default="adam")

# -------------------------------------------------------------------------- schedulers


class Constant(_Model):
    name: Literal["constant"] = Field("constant", title="Scheduler", description="Learning-rate schedule.")


class Exponential(_Model):
    name: Literal["exponential"] = Field("exponential", title="Scheduler", description="Learning-rate schedule.")
    decay_rate: float = Field(
        0.95, gt=0, le=1, description="lr = initial lr * decay_rate ** (step / decay_steps)."
    )
    decay_steps: int = Field(200, ge=1, description="Steps over which lr shrinks by one factor of decay_rate.")


class Step(_Model):
    name: Literal["step"] = Field("step", title="Scheduler", description="Learning-rate schedule.")
    step_size: int = Field(1000, ge=1, description="Multiply lr by gamma every step_size steps.")
    gamma: float = Field(0.5, gt=0, le=1, description="Factor applied to lr every step_size steps.")


class Cosine(_Model):
    name: Literal["cosine"] = Field("cosine", title="Scheduler", description="Learning-rate schedule.")
    t_max: Nullable(int) = Field(
        None,
        ge=1,
        title="T max",
        description="Steps of one cosine half-period; null uses training.max_steps.",
        json_schema_extra={"null_label": "max_steps"},
    )
    eta_min: float = Field(0.0, ge=0, description="Learning rate at the end of the cosine.")


class Plateau(_Model):
    name: Literal["plateau"] = Field("plateau", title="Scheduler", description="Learning-rate schedule.")
    factor: float = Field(0.5, gt=0, lt=1, description="Multiply lr by factor when the loss stops improving.")
    patience: int = Field(10, ge=0, description="Loss checks without improvement before lr is reduced.")
    threshold: float = Field(1e-4, ge=0, description="Relative improvement that counts as improving.")
    min_lr: float = Field(0.0, ge=0, description="Lower bound on the learning rate.")


SchedulerConfig = tagged(Constant, Exponential, Step, Cosine, Plateau, discriminator="name", default="exponential")

# ------------------------------------------------------------------------ architectures

Activation = Literal["tanh", "silu", "gelu", "sin", "relu"]
Initialisation = Literal["default", "glorot_uniform", "glorot_normal", "kaiming_uniform", "torch"]
"""``nets.<NET>.init`` choices: the names of ``engine.nets.init.INITIALISATIONS`` (SIREN adds ``siren``)."""
INIT_HELP = (
    "Initial weights of the dense layers: default (the architecture's own: Glorot uniform, SIREN's for siren), "
    "glorot_uniform, glorot_normal, kaiming_uniform, torch (torch.nn.Linear's, random biases)"
)


class _NetBase(_Model):
    arch: str = Field("", title="Architecture", description="Network architecture.")  # narrowed by each variant
    trainable: bool = Field(
        True,
        description="Train this network in this stage; false freezes its weights.",
        json_schema_extra={"section": "Neural Networks"},
    )
    layer_size: int = Field(512, ge=1, description="Neurons per hidden layer.")
    nr_layers: int = Field(6, ge=1, title="Number of layers", description="Number of hidden layers.")
    activation: Activation = Field("silu", description="Activation function of the hidden layers.")
    skip_connections: bool = Field(False, description="Add residual connections between hidden layers.")
    # initialisation (nets.<NET>.init)
    init: Initialisation = Field("default", title="Initialisation", description=INIT_HELP + ".")


class FullyConnected(_NetBase):
    arch: Literal["fully_connected"] = Field("fully_connected", title="Architecture", description="Network architecture.")


class Fourier(_NetBase):
    arch: Literal["fourier"] = Field("fourier", title="Architecture", description="Network architecture.")
    frequencies: int = Field(32, ge=1, description="Number of random Fourier features of the inputs.")
    sigma: float = Field(1.0, gt=0, description="Standard deviation of the Fourier feature frequencies.")


class ModifiedFourier(Fourier):
    arch: Literal["modified_fourier"] = Field(
        "modified_fourier", title="Architecture", description="Network architecture."
    )


class Siren(_NetBase):
    arch: Literal["siren"] = Field("siren", title="Architecture", description="Network architecture.")
    activation: Literal["sin"] = Field("sin", description="SIREN always uses sin.")
    omega0: float = Field(30.0, gt=0, title="Omega 0", description="Frequency scale of the first SIREN layer.")
    # initialisation (nets.<NET>.init): SIREN's own scheme by name too
    init: Literal[Initialisation, "siren"] = Field(
        "default", title="Initialisation", description=INIT_HELP + ", siren (Sitzmann et al.; what default is here)."
    )


# KAN networks (Kolmogorov-Arnold, B-spline edges): architecture, sparsity and pruning settings
class Kan(_NetBase):
    arch: Literal["kan"] = Field("kan", title="Architecture", description="Network architecture.")
    layer_size: int = Field(8, ge=1, description="Nodes per hidden KAN layer (when width is null).")
    nr_layers: int = Field(2, ge=1, title="Number of layers", description="Number of hidden KAN layers (when width is null).")
    activation: Activation = Field("silu", description="Base function b(x) of every KAN edge, phi(x) = w_b b(x) + w_s spline(x).")
    skip_connections: bool = Field(False, description="KAN layers have no skip connections: always false.")
    init: Literal["default"] = Field(
        "default", title="Initialisation", description="KAN edges draw their own initial weights (spline coefficients "
        "small and uniform, base scales 1/sqrt(fan-in)): only default."
    )
    width: Nullable(list[Annotated[int, Field(ge=1)]]) = Field(
        None,
        description="Hidden layer widths, e.g. 5,5; null uses nr_layers layers of layer_size nodes.",
        json_schema_extra={"null_label": "layer_size x nr_layers", "allowed": "whole numbers >= 1, e.g. 5,5"},
    )
    grid: int = Field(
        5,
        ge=1,
        description="B-spline grid intervals per edge; a child whose grid is a multiple of its parent's starts "
        "from the parent's splines refitted exactly on the finer grid (grid extension).",
    )
    spline_order: int = Field(3, ge=1, le=5, description="B-spline order k: the splines have k - 1 continuous derivatives (3, cubic, for "
        "second-order equations; 1 and 2 have zero or piecewise-constant second derivatives).")
    grid_range: Nullable(tuple[float, float]) = Field(
        None,
        description="Input range mapped onto the first layer's grid [-1, 1], e.g. -1,1 for every input; null "
        "(auto) uses each input's range over the problem's subdomains. Hidden layers see tanh of their inputs.",
        json_schema_extra={"null_label": "auto", "allowed": "two numbers low,high, e.g. 0,1"},
    )
    l1: float = Field(
        0.0, ge=0, title="L1 sparsity", description="Weight of the L1 norm of the edge activations (KAN sparsification), "
        "logged as sparsity/<NET>; 0 turns it off."
    )
    entropy: float = Field(
        0.0, ge=0, description="Weight of the entropy of the edge activations per layer (KAN sparsification); 0 turns it off."
    )
    node_th: float = Field(
        1e-2, ge=0, title="Node threshold", description="Prune stages: a hidden node whose largest incoming or "
        "outgoing edge activation (mean |phi| on the parent's points) is below this is removed."
    )
    edge_th: float = Field(
        3e-2, ge=0, title="Edge threshold", description="Prune stages: an edge whose mean |phi| on the parent's points is below this is removed."
    )

    @field_validator("skip_connections")
    @classmethod
    def _no_skips(cls, value: bool) -> bool:
        if value:
            raise ValueError("KAN layers have no skip connections: set it false (or use another architecture)")
        return value

    @field_validator("grid_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not value[0] < value[1]:
            raise ValueError(f"the lower end must be below the upper one, e.g. {min(value)},{max(value) + (value[0] == value[1])}")
        return value


NetConfig = tagged(FullyConnected, Fourier, ModifiedFourier, Siren, Kan, discriminator="arch", default="fully_connected")

# ------------------------------------------------------------------------- constraints


def _weight(value: Any) -> Any:
    return parse_weight(value)


class ConstraintSettings(_Model):
    include: bool = Field(True, description="Use this constraint in this stage.")
    batch_size: int = Field(1000, ge=1, description="Points sampled for this constraint per step.")
    weight: Annotated[Union[Annotated[float, Field(ge=0)], str], BeforeValidator(_weight)] = Field(
        1.0,
        description="Loss weight: a number, or a sympy expression in the constraint's symbols such as 2*sdf.",
        json_schema_extra={"ui": "expression"},
    )
    integral_batches: int = Field(
        1, ge=1, description="Integral constraints only: integrals (one residual each, batch_size points) per step."
    )
    hard: bool = Field(
        False,
        title="Hard (exact)",
        description="Impose this Dirichlet condition (Eq(u, g) on a boundary) exactly: the output becomes "
        "g + phi * network with phi a distance function of the boundary, and the constraint leaves the loss.",
    )


class DataSettings(_Model):
    include: bool = Field(True, description="Use this data constraint in this stage.")
    batch_size: int = Field(1000, ge=1, description="Data points per step.")
    weight: float = Field(1.0, ge=0, description="Loss weight (a number).")


class UnknownSettings(_Model):
    trainable: bool = Field(True, description="Learn this unknown constant in this stage; false keeps its value.")
    lr_scale: float = Field(
        1.0, gt=0, title="LR scale", description="Its learning rate relative to the networks' (first-order optimizers)."
    )


# ---------------------------------------------------------------------------- stage


class StageConfig(_Model):
    """One stage's configuration; JSON dumps of this model are what the store keeps."""

    # UI section order (MTC's); "{name}" matches any network name.
    model_config = ConfigDict(
        json_schema_extra={
            "section_order": [
                "Training",
                "Scheduler",
                "Optimizer",
                "[{name}] NN Architecture",
                "Equation Constraints",
                "Neural Networks",
                "Data Constraints",
                "Unknowns",
            ]
        }
    )

    training: Training = Field(default_factory=Training, title="Training")
    scheduler: SchedulerConfig = Field(default_factory=Exponential, title="Scheduler")
    optimizer: OptimizerConfig = Field(default_factory=Adam, title="Optimizer")
    nets: dict[str, NetConfig] = Field(
        default_factory=dict,
        title="[{name}] NN Architecture",
        json_schema_extra={"outline": "networks", "placeholder": "<NET>", "noun": "network"},
    )
    constraints: dict[str, ConstraintSettings] = Field(
        default_factory=dict,
        title="Equation Constraints",
        json_schema_extra={"outline": "constraints", "placeholder": "<CONSTRAINT>", "noun": "constraint"},
    )
    data: dict[str, DataSettings] = Field(
        default_factory=dict,
        title="Data Constraints",
        json_schema_extra={"outline": "data", "placeholder": "<DATA>", "noun": "data constraint"},
    )
    unknowns: dict[str, UnknownSettings] = Field(
        default_factory=dict,
        title="Unknowns",
        json_schema_extra={"outline": "unknowns", "placeholder": "<UNKNOWN>", "noun": "unknown"},
    )
