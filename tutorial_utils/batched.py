"""Train K independent face-net configurations at once, as one set of batched tensor ops.

Why: the face network is tiny (~40k parameters), so a plain training step is ~80 small torch ops whose fixed
cost (dispatch, Python, kernel launch) dwarfs their arithmetic. Running K trials side by side costs K times
that overhead; running them *as one* costs it once.

The trick:

- **Pad every slot to the largest network of the space**: 8 hidden layers of width 64 and ``last_fc`` 64.
  Each layer's weights of all K slots are one ``(K, in, out)`` tensor and a step is ``torch.baddbmm``/``bmm``
  over the slot dimension. Padded units have zero weights and zero bias; their pre-activation is exactly 0,
  ReLU's gradient there is 0 and the zero rows of the next layer send no gradient back, so they get exactly
  zero gradient and never affect a real output.
- **Shallower slots skip** the layers they lack: slots are kept sorted by depth (deepest first), so layer
  ``i`` runs on a prefix of the slot dimension, the slots that have it; the others pass their activations
  (and, backwards, their gradients) through unchanged. A layer a slot lacks is all zeros and never written.
- **Each slot has its own everything**: weights, optimizer state, learning rate (a per-slot tensor that
  broadcasts), step count, batch order and dropout masks. A slot's batch order comes from its own
  ``torch.Generator`` (``torch.randperm(n, generator=...)`` once per epoch, as ``training.train_epoch``
  does), its rows are gathered into a ``(K, B, F)`` batch, and its dropout bits from a second generator of
  its own, so a slot's trajectory does not depend on the others.
- **The backward pass is written out by hand** (a plain MLP: a few ``bmm`` per layer) so gradients land in
  one ``(K, P)`` buffer beside the ``(K, P)`` parameters. Measured against shorter versions (issue #26;
  ``python -m benchmarks.bench_batched --backward``): ``torch.func`` (``vmap`` of ``grad``) took about 1.5x
  its time on a CPU, autograd over this forward 1.13-1.22x. The five optimizers (Adam, Adadelta, RMSprop, SGD
  with torch's defaults; MADGRAD as the ``madgrad`` package) are then ~10 elementwise ops over the rows of
  the slots that use them; within a depth, slots are sorted by optimizer, so each optimizer updates a few
  contiguous row ranges.
- **Padding is inert under every optimizer**: a zero gradient with zero state gives an update of exactly 0
  for Adam, Adadelta, RMSprop and SGD; MADGRAD is written as ``p += 0.1 * (z - p)`` with ``z == x0 == p`` for
  an entry that never had a gradient, so it stays bit-for-bit where it was too.

Semantics a plain run can reproduce: slot ``k`` set with ``(params, seed)`` starts from the weights of
``MultiHeadFCNet.from_params(params, n_features)`` built right after ``torch.manual_seed(seed)``, and its
epoch ``e`` visits the rows in the order of the ``e``-th ``torch.randperm(n, generator=g)`` of
``g = torch.Generator().manual_seed(seed)``: exactly ``training.train_epoch(model, make_optimizer(...), x, y,
batch_size, g)`` epoch after epoch, seeded as ``training.fit(..., seed=seed)`` seeds. With dropout 0 the two
agree to float rounding (the padded matmuls add exact zeros in another order). Dropout masks differ from a
plain run's: they come from the slot's own generator, with the keep probability resolved to 1/65536.

What it costs: every slot pays for the padded width (64) in every layer it has, about 2-3x the multiply-adds
of a typical configuration, so the gain is the per-op overhead saved minus that padding (see
``benchmarks/bench_batched.py``). On a CPU a slot's results are bit-for-bit the same whatever the other slots
hold; on a GPU the matmul library may pick kernels by batch size, so there they agree to rounding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate

import torch
import torch.nn.functional as F

from .devices import resolve_device
from .models import (
    FC_DROPOUT,
    FC_OUTPUT_FEATURES,
    HEADS,
    LAST_FC,
    LEARNING_RATE,
    NUM_FC_LAYERS,
    OPTIMIZERS,
    MultiHeadFCNet,
)

MAX_LAYERS = NUM_FC_LAYERS[1]
WIDTH = FC_OUTPUT_FEATURES[1]
LAST = LAST_FC[1]
N_OUT = sum(HEADS.values())
HEAD_SLICES = tuple((end - size, end) for end, size in zip(accumulate(HEADS.values()), HEADS.values(), strict=True))
ALIGN = 16  # floats: every block of a slot's row starts on a 64-byte boundary (same SIMD path for every slot)
DROPOUT_LEVELS = 65536  # dropout bits are 16-bit: keep a unit when its bits >= p * 65536
DROPOUT_CHUNK = 16  # steps of dropout bits drawn at once on an accelerator (from each epoch's first step)

# torch's defaults (and madgrad's) for everything but the learning rate.
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
ADADELTA_RHO, ADADELTA_EPS = 0.9, 1e-6
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8
MADGRAD_MOMENTUM, MADGRAD_EPS = 0.9, 1e-6
# Added under a square root whose argument is often exactly 0 (padding): torch's CPU sqrt takes a path ~5x
# slower on zeros. 1e-30 is below float32 resolution for any second moment that moves a weight (sqrt(1e-30)
# = 1e-15, far under the 1e-8 eps beside it), so updates do not change beyond rounding.
SQRT_NUDGE = 1e-30


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def check_space(params: Mapping) -> dict:
    """Return a clean copy of ``params`` or raise naming the key outside the original search space.

    The batched trainer pads to the space's largest network, so a configuration beyond it cannot be run.
    """

    def number(key: str, low: float, high: float, integer: bool) -> float:
        if key not in params:
            raise KeyError(f"params lack {key!r} (allowed {low}..{high})")
        value = params[key]
        try:
            as_float = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}={value!r} is not a number; allowed {low}..{high}") from None
        if not math.isfinite(as_float):
            raise ValueError(f"{key}={value!r} is outside the search space; allowed {low}..{high}")
        if integer and as_float != int(as_float):
            raise ValueError(f"{key}={value!r} is not an integer; allowed {low}..{high}")
        if not low <= as_float <= high:
            raise ValueError(f"{key}={value!r} is outside the search space; allowed {low}..{high}")
        return int(as_float) if integer else as_float

    clean: dict = {"num_fc_layers": number("num_fc_layers", *NUM_FC_LAYERS, integer=True)}
    clean["last_fc"] = number("last_fc", *LAST_FC, integer=True)
    for i in range(clean["num_fc_layers"]):
        clean[f"fc_output_feat_{i}"] = number(f"fc_output_feat_{i}", *FC_OUTPUT_FEATURES, integer=True)
        clean[f"fc_dropout_{i}"] = number(f"fc_dropout_{i}", *FC_DROPOUT, integer=False)
    if params.get("optimizer") not in OPTIMIZERS:
        raise ValueError(f"optimizer={params.get('optimizer')!r} is outside the search space; allowed {list(OPTIMIZERS)}")
    clean["optimizer"] = params["optimizer"]
    clean["lr"] = number("lr", *LEARNING_RATE, integer=False)
    return clean


def check_device(device: str | torch.device) -> torch.device:
    """The device for ``device`` (``auto`` allowed), or a ValueError saying why it cannot be used here."""
    return resolve_device(device)


@dataclass
class _Slot:
    params: dict
    seed: int
    order_gen: torch.Generator  # CPU: the batch order, as training.train_epoch draws it
    dropout_gen: torch.Generator  # on the device: dropout bits
    has_dropout: bool
    epochs: int = 0
    row: int = -1


class BatchedTrainer:
    """K slots, each an independent configuration of the original search space, trained in lockstep.

    ``set_slot``/``clear_slot`` between epochs; ``train_epoch`` steps every filled slot through one epoch of
    its own shuffled mini-batches; ``evaluate`` gives each slot's accuracies. See the module docstring.
    """

    def __init__(
        self,
        n_slots: int,
        n_features: int,
        device: str | torch.device = "cpu",
        batch_size: int = 128,
        dropout_chunk: int | None = None,
    ) -> None:
        """``dropout_chunk``: steps of dropout bits each slot draws per call (default 1 on a CPU, where it makes
        no difference, and 16 on an accelerator, where each call is a kernel launch)."""
        if not isinstance(n_slots, int) or n_slots < 1:
            raise ValueError(f"n_slots must be an integer >= 1, got {n_slots!r}")
        if not isinstance(n_features, int) or n_features < 1:
            raise ValueError(f"n_features must be an integer >= 1, got {n_features!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
        if dropout_chunk is not None and (not isinstance(dropout_chunk, int) or dropout_chunk < 1):
            raise ValueError(f"dropout_chunk must be an integer >= 1, got {dropout_chunk!r}")
        self.n_slots, self.n_features, self.batch_size = n_slots, n_features, batch_size
        self.device = check_device(device)
        self._blocks = self._layout(n_features)
        self.row_size = sum(_align(math.prod(shape)) for _, shape in self._blocks.values())
        k, dev = n_slots, self.device
        zeros = lambda *shape, dtype=torch.float32: torch.zeros(*shape, dtype=dtype, device=dev)  # noqa: E731
        # Per-row buffers (row = physical position; slots are re-sorted by depth and optimizer between epochs).
        self._rows: dict[str, torch.Tensor] = {
            "param": zeros(k, self.row_size),
            "state1": zeros(k, self.row_size),
            "state2": zeros(k, self.row_size),
            "state3": zeros(k, self.row_size),
            "lr": zeros(k, 1),
            "step": zeros(k, 1),
            # A unit is kept when its 16 random bits (as int16) minus this are >= 1, i.e. bits >= p * 65536 - 32768.
            "threshold": torch.full((k, 1, MAX_LAYERS * WIDTH), -DROPOUT_LEVELS // 2 - 1.0, device=dev),
            "scale": torch.ones(k, 1, MAX_LAYERS * WIDTH, device=dev),
        }
        self._grad = zeros(k, self.row_size)
        self._tmp = zeros(k, self.row_size)  # optimizer scratch
        self._ws_store: dict[str, torch.Tensor] = {}
        self._ws_views: dict[tuple, dict[str, torch.Tensor]] = {}
        # 16-bit dropout bits for a batch: drawn as int64 (4 units per draw), read as int16.
        # On an accelerator each draw is a kernel launch per slot: draw for several steps at once there.
        self._chunk = dropout_chunk or (1 if dev.type == "cpu" else DROPOUT_CHUNK)
        self._bits = torch.zeros(k, self._chunk, batch_size, MAX_LAYERS * WIDTH // 4, dtype=torch.int64, device=dev)
        self._slots: list[_Slot | None] = [None] * k
        self._row_slot: list[int | None] = [None] * k
        self._groups: list[tuple[str, int, int, int]] = []  # optimizer, first row, end row, columns used
        self._n_active = 0
        self._depth = 0  # the deepest filled slot's num_fc_layers
        self._count = [0] * MAX_LAYERS  # rows that have layer i (a prefix: rows are sorted deepest first)
        self._dirty = False
        self._views: dict[str, dict[str, torch.Tensor]] = {}

    # ------------------------------------------------------------------------------------------ layout

    @staticmethod
    def _layout(n_features: int) -> dict[str, tuple[int, tuple[int, ...]]]:
        """Offset and shape of each block in a slot's row: W0 b0 WL bL WH bH W1 b1 ... W7 b7.

        Weights are stored (in, out), biases (1, out). The optional deep layers come last, so the part of a row a
        network of depth d uses is a prefix, ending with b{d-1}: the optimizers skip the rest.
        """
        blocks: dict[str, tuple[int, tuple[int, ...]]] = {}
        offset = 0
        shapes = [("W0", (n_features, WIDTH)), ("b0", (1, WIDTH))]
        shapes += [("WL", (WIDTH, LAST)), ("bL", (1, LAST)), ("WH", (LAST, N_OUT)), ("bH", (1, N_OUT))]
        for i in range(1, MAX_LAYERS):
            shapes += [(f"W{i}", (WIDTH, WIDTH)), (f"b{i}", (1, WIDTH))]
        for name, shape in shapes:
            blocks[name] = (offset, shape)
            offset += _align(math.prod(shape))
        return blocks

    def _block_views(self, buffer: torch.Tensor, rows: slice) -> dict[str, torch.Tensor]:
        n = len(range(*rows.indices(buffer.shape[0])))
        return {
            name: buffer[rows, off : off + math.prod(shape)].view(n, *shape) for name, (off, shape) in self._blocks.items()
        }

    def _relayout(self) -> None:
        """Sort the filled slots into rows 0..n-1 (empty rows last): deepest first, then by optimizer.

        Layer i then runs on rows 0..count[i]-1, and each optimizer on a few contiguous row ranges.
        """
        order = sorted(
            (s for s in range(self.n_slots) if self._slots[s] is not None),
            key=lambda s: (-self._slots[s].params["num_fc_layers"], OPTIMIZERS.index(self._slots[s].params["optimizer"]), s),
        )
        used = [self._slots[s].row for s in order]
        free = [r for r in range(self.n_slots) if r not in set(used)]
        perm = torch.tensor(used + free, device=self.device)
        for buffer in self._rows.values():
            buffer.copy_(buffer.index_select(0, perm))
        self._row_slot = [None] * self.n_slots
        for row, s in enumerate(order):
            self._slots[s].row = row
            self._row_slot[row] = s
        self._n_active = len(order)
        depths = [self._slots[s].params["num_fc_layers"] for s in order]
        self._depth = max(depths, default=0)
        self._count = [sum(d > i for d in depths) for i in range(MAX_LAYERS)]
        self._grad.zero_()  # a row's unused blocks are never written: they must hold zeros, not another slot's
        self._groups = []
        for row, s in enumerate(order):
            name, depth = self._slots[s].params["optimizer"], depths[row]
            off, shape = self._blocks[f"b{depth - 1}"]
            columns = off + math.prod(shape)
            if self._groups and self._groups[-1][0] == name and self._groups[-1][2] == row:
                _, first, _, wider = self._groups[-1]
                self._groups[-1] = (name, first, row + 1, max(columns, wider))
            else:
                self._groups.append((name, row, row + 1, columns))
        n = self._n_active
        self._views = {"param": self._block_views(self._rows["param"], slice(0, n)), "grad": self._block_views(self._grad, slice(0, n))}
        self._ws_views = {}
        self._dirty = False

    # ------------------------------------------------------------------------------------------ slots

    def _check_slot(self, k: int) -> None:
        if not isinstance(k, int) or not 0 <= k < self.n_slots:
            raise IndexError(f"slot {k!r} does not exist; slots are 0..{self.n_slots - 1}")

    def set_slot(self, k: int, params: Mapping, seed: int) -> None:
        """Put a fresh configuration in slot ``k`` (replacing what was there), initialised as a plain run
        seeded with ``seed`` would be; its optimizer state, step count and generators start afresh."""
        self._check_slot(k)
        clean = check_space(params)
        seed = int(seed)
        # The weights a plain run draws after torch.manual_seed(seed): it builds the model on the CPU, so they come
        # from the CPU generator alone. Only that one is reseeded here, and restored: torch.manual_seed would also
        # reseed every CUDA (MPS, XPU) generator, lazily if CUDA is not started yet, which fork_rng(devices=[])
        # does not restore.
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            model = MultiHeadFCNet.from_params(clean, self.n_features)
        old = self._slots[k]
        if old is not None:
            row = old.row
        else:
            taken = {s.row for s in self._slots if s is not None}
            row = next(r for r in range(self.n_slots) if r not in taken)
        self._write_row(row, model, clean)
        dropout_gen = torch.Generator(device=self.device)
        dropout_gen.manual_seed((seed * 6364136223846793005 + 1442695040888963407) % 2**64)
        depth = clean["num_fc_layers"]
        self._slots[k] = _Slot(
            params=clean,
            seed=seed,
            order_gen=torch.Generator().manual_seed(seed),
            dropout_gen=dropout_gen,
            has_dropout=any(clean[f"fc_dropout_{i}"] > 0 for i in range(depth)),
            row=row,
        )
        self._dirty = True

    def _write_row(self, row: int, model: MultiHeadFCNet, params: dict) -> None:
        depth = params["num_fc_layers"]
        linears = [m for m in model.body if isinstance(m, torch.nn.Linear)]
        param_row = torch.zeros(self.row_size)
        views = self._block_views(param_row[None], slice(0, 1))
        with torch.no_grad():
            for i in range(MAX_LAYERS):
                if i < depth:
                    w, b = linears[i].weight, linears[i].bias
                    views[f"W{i}"][0, : w.shape[1], : w.shape[0]] = w.T
                    views[f"b{i}"][0, 0, : b.shape[0]] = b
            w, b = linears[depth].weight, linears[depth].bias
            views["WL"][0, : w.shape[1], : w.shape[0]] = w.T
            views["bL"][0, 0, : b.shape[0]] = b
            views["WH"][0, : model.heads.weight.shape[1]] = model.heads.weight.T
            views["bH"][0, 0] = model.heads.bias
        rows = self._rows
        rows["param"][row] = param_row.to(self.device)
        for name in ("state1", "state2", "state3"):
            rows[name][row] = 0
        if params["optimizer"] == "MADGRAD":  # x0, the dual-averaging anchor
            rows["state3"][row] = rows["param"][row]
        lr = params["lr"] + MADGRAD_EPS if params["optimizer"] == "MADGRAD" else params["lr"]
        rows["lr"][row] = lr
        rows["step"][row] = 0
        dropouts = [params[f"fc_dropout_{i}"] if i < depth else 0.0 for i in range(MAX_LAYERS)]
        threshold = torch.tensor([round(p * DROPOUT_LEVELS) - DROPOUT_LEVELS // 2 - 1.0 for p in dropouts])
        scale = torch.tensor([1.0 / (1.0 - p) for p in dropouts])
        rows["threshold"][row, 0] = threshold.repeat_interleave(WIDTH).to(self.device)
        rows["scale"][row, 0] = scale.repeat_interleave(WIDTH).to(self.device)

    def clear_slot(self, k: int) -> None:
        """Empty slot ``k``: it stops training (and costing) from the next epoch on."""
        self._check_slot(k)
        if self._slots[k] is not None:
            self._slots[k] = None
            self._dirty = True

    @property
    def active_slots(self) -> list[int]:
        """The filled slots, in slot order."""
        return [k for k, s in enumerate(self._slots) if s is not None]

    def slot_params(self, k: int) -> dict | None:
        """The configuration in slot ``k`` (None when empty)."""
        self._check_slot(k)
        return None if self._slots[k] is None else dict(self._slots[k].params)

    def slot_epochs(self, k: int) -> int:
        """How many epochs slot ``k`` has trained since it was set."""
        self._check_slot(k)
        return 0 if self._slots[k] is None else self._slots[k].epochs

    def to_model(self, k: int) -> MultiHeadFCNet:
        """Slot ``k``'s current weights as a plain ``MultiHeadFCNet`` (on the trainer's device)."""
        self._check_slot(k)
        slot = self._slots[k]
        if slot is None:
            raise ValueError(f"slot {k} is empty")
        with torch.random.fork_rng(devices=[]):  # its initial weights (overwritten) draw from the CPU generator only
            model = MultiHeadFCNet.from_params(slot.params, self.n_features).to(self.device)
        views = self._block_views(self._rows["param"], slice(slot.row, slot.row + 1))
        linears = [m for m in model.body if isinstance(m, torch.nn.Linear)]
        names = [(f"W{i}", f"b{i}") for i in range(slot.params["num_fc_layers"])] + [("WL", "bL"), ("WH", "bH")]
        with torch.no_grad():
            for linear, (w, b) in zip([*linears, model.heads], names, strict=True):
                out_features, in_features = linear.weight.shape
                linear.weight.copy_(views[w][0, :in_features, :out_features].T)
                linear.bias.copy_(views[b][0, 0, :out_features])
        return model

    # ------------------------------------------------------------------------------------------ training

    def _check_data(self, x: torch.Tensor, y: torch.Tensor | None = None) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"x must be a (n, {self.n_features}) tensor, got {getattr(x, 'shape', type(x))}")
        if x.dtype != torch.float32:
            raise ValueError(f"x must be float32, got {x.dtype}")
        if x.device.type != self.device.type or (self.device.index is not None and x.device.index != self.device.index):
            raise ValueError(f"x is on {x.device} but the trainer is on {self.device}")
        if y is not None:
            if not isinstance(y, torch.Tensor) or y.shape != (len(x), len(HEADS)) or y.dtype != torch.int64:
                raise ValueError(f"y must be an int64 ({len(x)}, {len(HEADS)}) tensor, got {getattr(y, 'shape', type(y))}")
            if y.device != x.device:
                raise ValueError(f"y is on {y.device} but x is on {x.device}")
        if len(x) == 0:
            raise ValueError("x has no rows")

    @staticmethod
    def _one_hot(y: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.one_hot(y[:, h], size) for h, size in enumerate(HEADS.values())], 1).float()

    def _ready(self, x: torch.Tensor, y: torch.Tensor) -> int:
        """Check the data, lay the slots out again if they changed, and return how many are filled."""
        self._check_data(x, y)
        if self._dirty:
            self._relayout()
        return self._n_active

    def train_epoch(self, x: torch.Tensor, y: torch.Tensor) -> dict[int, float]:
        """One epoch for every filled slot, each over its own shuffle of (x, y); returns {slot: mean loss}."""
        n = self._ready(x, y)
        if n == 0:
            return {}
        slots = [self._slots[s] for s in self._row_slot[:n]]
        n_rows = len(x)
        orders = torch.stack([torch.randperm(n_rows, generator=s.order_gen, device="cpu") for s in slots]).to(self.device)
        targets = self._one_hot(y)
        total = torch.zeros(n, device=self.device)
        # Bits only for the layers a slot has (4 units per int64, 16 int64 per layer); the stale bits of the
        # layers it lacks meet a keep-everything threshold.
        dropout_rows = [
            (r, s.dropout_gen, s.params["num_fc_layers"] * WIDTH // 4) for r, s in enumerate(slots) if s.has_dropout
        ]
        n_steps = -(-n_rows // self.batch_size)
        for step in range(n_steps):
            idx = orders[:, step * self.batch_size : (step + 1) * self.batch_size].reshape(-1)
            bits = None
            if dropout_rows:
                if step % self._chunk == 0:  # a slot's draws depend only on its generator, n_rows and the batch
                    for r, gen, columns in dropout_rows:
                        block = self._bits[r, : min(self._chunk, n_steps - step), :, :columns]
                        block.random_(-(2**63), 2**63 - 1, generator=gen)
                bits = self._bits[:n, step % self._chunk]
            total -= self._step(idx, x, targets, bits)
        for s in slots:
            s.epochs += 1
        losses = (total / n_rows).tolist()
        return {self._row_slot[r]: losses[r] for r in sorted(range(n), key=self._row_slot.__getitem__)}

    def _workspace(self, n: int, b: int, dropout: bool) -> dict[str, torch.Tensor]:
        """Preallocated activations for rows 0..n-1 and a batch of b: on a CPU a fresh multi-megabyte tensor
        costs page faults, often more than the op that fills it. Storage is sized for the full batch."""
        key = (n, b, dropout)
        if key not in self._ws_views:
            shapes = {"x": (self.n_features,), "y": (N_OUT,), "z": (LAST,), "logits": (N_OUT,), "log_probs": (N_OUT,)}
            shapes |= {"d_z": (LAST,), "d_h": (WIDTH,), "d_pre": (WIDTH,)}
            shapes |= {f"h{i}": (WIDTH,) for i in range(MAX_LAYERS)}
            if dropout:
                shapes |= {f"hd{i}": (WIDTH,) for i in range(MAX_LAYERS)}
                shapes |= {"mask": (MAX_LAYERS * WIDTH,)}
            views = {}
            for name, tail in shapes.items():
                size = n * self.batch_size * math.prod(tail)
                store = self._ws_store.get(name)
                if store is None or store.numel() < size:
                    store = self._ws_store[name] = torch.empty(size, device=self.device)
                views[name] = store[: n * b * math.prod(tail)].view(n, b, *tail)
            self._ws_views[key] = views
        return self._ws_views[key]

    def _step(self, idx: torch.Tensor, x: torch.Tensor, targets: torch.Tensor, bits: torch.Tensor | None) -> torch.Tensor:
        """Forward, hand-written backward and optimizer update for rows 0..n-1; returns -(summed loss) per row."""
        n = self._n_active
        b = len(idx) // n
        ws = self._workspace(n, b, bits is not None)
        p, g = self._views["param"], self._views["grad"]
        xb, yb = ws["x"], ws["y"]
        torch.index_select(x, 0, idx, out=xb.view(n * b, -1))
        torch.index_select(targets, 0, idx, out=yb.view(n * b, -1))
        masks = None
        if bits is not None:
            # 1/(1-p) where kept, else 0, in four plain float passes (bits and thresholds are small integers,
            # exact in float32); a bool mask times a float tensor is several times slower on a CPU.
            masks = ws["mask"].copy_(bits[:, :b].view(torch.int16)).sub_(self._rows["threshold"][:n])
            masks.clamp_(0, 1).mul_(self._rows["scale"][:n])
        inputs, relu_out = [xb], []
        h = xb
        for i in range(self._depth):
            c = self._count[i]  # rows 0..c-1 have layer i; rows c..n-1 pass h through
            out = torch.baddbmm(p[f"b{i}"][:c], h[:c], p[f"W{i}"][:c], out=ws[f"h{i}"][:c]).relu_()
            relu_out.append(out)
            if masks is not None:
                out = torch.mul(out, masks[:c, :, i * WIDTH : (i + 1) * WIDTH], out=ws[f"hd{i}"][:c])
            if c < n:
                full = ws[f"hd{i}" if masks is not None else f"h{i}"]
                full[c:] = h[c:]
                out = full
            h = out
            inputs.append(h)
        z = torch.baddbmm(p["bL"], h, p["WL"], out=ws["z"])
        logits = torch.baddbmm(p["bH"], z, p["WH"], out=ws["logits"])
        log_probs = torch.cat([torch.log_softmax(logits[..., a:c], -1) for a, c in HEAD_SLICES], -1, out=ws["log_probs"])
        neg_loss = (log_probs * yb).sum((1, 2))
        # d(mean over the batch of the three cross-entropies) / d logits = (softmax - one_hot) / b
        d_logits = log_probs.exp_().sub_(yb).mul_(1.0 / b)
        torch.bmm(z.transpose(1, 2), d_logits, out=g["WH"])
        torch.sum(d_logits, 1, keepdim=True, out=g["bH"])
        d_z = torch.bmm(d_logits, p["WH"].transpose(1, 2), out=ws["d_z"])
        torch.bmm(h.transpose(1, 2), d_z, out=g["WL"])
        torch.sum(d_z, 1, keepdim=True, out=g["bL"])
        d_h = torch.bmm(d_z, p["WL"].transpose(1, 2), out=ws["d_h"])
        d_pre = ws["d_pre"]
        for i in reversed(range(self._depth)):
            c = self._count[i]  # rows c..n-1 lack layer i: their d_h passes through unchanged
            dh, dp = d_h[:c], d_pre[:c]
            if masks is not None:
                dh.mul_(masks[:c, :, i * WIDTH : (i + 1) * WIDTH])
            torch.ops.aten.threshold_backward.grad_input(dh, relu_out[i], 0, grad_input=dp)
            torch.bmm(inputs[i][:c].transpose(1, 2), dp, out=g[f"W{i}"][:c])
            torch.sum(dp, 1, keepdim=True, out=g[f"b{i}"][:c])
            if i > 0:
                torch.bmm(dp, p[f"W{i}"][:c].transpose(1, 2), out=dh)
        self._rows["step"][:n] += 1
        for name, a, c, columns in self._groups:
            self._update(name, slice(a, c), columns)
        return neg_loss

    def _update(self, name: str, rows: slice, used: int) -> None:
        """One optimizer step for the rows of one optimizer group: torch's (madgrad's) update, batched.

        In place or into the scratch row ``tmp``, for the same reason as the workspace. ``lr`` is a per-row
        (n, 1) tensor that broadcasts. ``used``: the columns these rows' networks have (deeper layers are zero).
        """
        r = self._rows
        p, g, tmp = r["param"][rows, :used], self._grad[rows, :used], self._tmp[rows, :used]
        s1, s2, s3 = r["state1"][rows, :used], r["state2"][rows, :used], r["state3"][rows, :used]
        lr, step = r["lr"][rows], r["step"][rows]
        if name == "SGD":
            p.addcmul_(g, -lr)
        elif name == "Adam":
            beta1, beta2 = ADAM_BETAS
            s1.lerp_(g, 1 - beta1)
            s2.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            step_size = lr / (1 - torch.pow(beta1, step))
            bias2_sqrt = (1 - torch.pow(beta2, step)).sqrt_()
            torch.add(s2, SQRT_NUDGE, out=tmp).sqrt_().div_(bias2_sqrt).add_(ADAM_EPS)  # denom
            p.addcmul_(torch.div(s1, tmp, out=tmp), -step_size)
        elif name == "RMSprop":
            s1.mul_(RMSPROP_ALPHA).addcmul_(g, g, value=1 - RMSPROP_ALPHA)
            torch.add(s1, SQRT_NUDGE, out=tmp).sqrt_().add_(RMSPROP_EPS)  # avg
            p.addcmul_(torch.div(g, tmp, out=tmp), -lr)
        elif name == "Adadelta":
            s1.mul_(ADADELTA_RHO).addcmul_(g, g, value=1 - ADADELTA_RHO)
            torch.add(s1, ADADELTA_EPS, out=tmp).sqrt_()  # std
            torch.div(g, tmp, out=tmp)
            delta = tmp.mul_(torch.add(s2, ADADELTA_EPS, out=s3).sqrt_())  # Adadelta has no third state: scratch
            s2.mul_(ADADELTA_RHO).addcmul_(delta, delta, value=1 - ADADELTA_RHO)
            p.addcmul_(delta, -lr)
        elif name == "MADGRAD":
            # lr already holds lr + eps (madgrad's "for stability"); lamb = lr * sqrt(k + 1), k = steps before.
            weighted = torch.mul(g, lr * step.sqrt(), out=tmp)
            s1.addcmul_(weighted, g)  # grad_sum_sq
            s2.add_(weighted)  # s
            rms = torch.pow(s1, 1 / 3, out=tmp).add_(MADGRAD_EPS)
            z = torch.addcdiv(s3, s2, rms, value=-1, out=tmp)  # x0 - s / rms
            p.lerp_(z, 1 - MADGRAD_MOMENTUM)  # p + ck (z - p): exactly p where z == p
        else:  # pragma: no cover - check_space admits only the five
            raise ValueError(f"unknown optimizer {name!r}")

    # ------------------------------------------------------------------------------------------ evaluation

    @torch.no_grad()
    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> dict[int, dict[str, float]]:
        """Each filled slot's accuracy per head and of all three at once, as ``training.evaluate`` reports."""
        n = self._ready(x, y)
        if n == 0:
            return {}
        p = self._views["param"]
        # The input is shared by all slots: the first layer is one (rows, F) @ (F, n * 64) matmul.
        w0 = p["W0"].permute(1, 0, 2).reshape(self.n_features, n * WIDTH)
        correct = torch.zeros(n, len(HEADS) + 1, device=self.device)
        chunk = max(64, 2**16 // n)
        for start in range(0, len(x), chunk):
            xc, yc = x[start : start + chunk], y[start : start + chunk]
            h = (xc @ w0).view(len(xc), n, WIDTH).transpose(0, 1).add(p["b0"]).relu_()
            for i in range(1, self._depth):
                c = self._count[i]
                h[:c] = torch.baddbmm(p[f"b{i}"][:c], h[:c], p[f"W{i}"][:c]).relu_()
            logits = torch.baddbmm(p["bH"], torch.baddbmm(p["bL"], h, p["WL"]), p["WH"])
            hits = torch.stack([logits[..., a:c].argmax(-1) == yc[:, j] for j, (a, c) in enumerate(HEAD_SLICES)], -1)
            correct += torch.cat([hits.sum(1), hits.all(-1).sum(1, keepdim=True)], 1)
        acc = (correct / len(x)).tolist()
        names = [*HEADS, "all"]
        rows = sorted(range(n), key=self._row_slot.__getitem__)
        return {self._row_slot[r]: dict(zip(names, acc[r], strict=True)) for r in rows}

    def slot_buffers(self, k: int) -> dict[str, torch.Tensor]:
        """Slot ``k``'s padded rows, for inspection: ``param``, ``grad``, ``state1..3`` (views, not copies) and
        ``real`` (True where an entry belongs to the network; everything else is padding and must stay 0)."""
        self._check_slot(k)
        slot = self._slots[k]
        if slot is None:
            raise ValueError(f"slot {k} is empty")
        if self._dirty:
            self._relayout()
        real = torch.zeros(self.row_size, dtype=torch.bool)
        views = self._block_views(real[None], slice(0, 1))
        params = slot.params
        widths = [self.n_features] + [params[f"fc_output_feat_{i}"] for i in range(params["num_fc_layers"])]
        for i in range(params["num_fc_layers"]):
            views[f"W{i}"][0, : widths[i], : widths[i + 1]] = True
            views[f"b{i}"][0, 0, : widths[i + 1]] = True
        views["WL"][0, : widths[-1], : params["last_fc"]] = True
        views["bL"][0, 0, : params["last_fc"]] = True
        views["WH"][0, : params["last_fc"]] = True
        views["bH"][0] = True
        row = slot.row
        out = {name: self._rows[name][row] for name in ("param", "state1", "state2", "state3")}
        return {**out, "grad": self._grad[row], "real": real.to(self.device)}

    def memory_bytes(self) -> int:
        """Bytes of the tensors this trainer holds (parameters, optimizer state, scratch, workspace)."""
        tensors = [*self._rows.values(), self._grad, self._tmp, self._bits, *self._ws_store.values()]
        return sum(t.numel() * t.element_size() for t in tensors)
