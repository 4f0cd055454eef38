"""Seeds for paired studies that cannot collide, and sampler draws that a resumed study repeats exactly.

Two faults this module exists to prevent (both found in the course's own showdown records):

* **Shared streams.** The paired start-up configurations and the Random arm's sampler were drawn from one
  ``RandomSampler(seed)`` stream, so trials 10-19 repeated trials 0-9. Here every use of a study's seed gets
  its own stream (:func:`stream_seed`), so the start-up draws and a sampler's draws are independent.
* **Restarted streams.** A sampler's generator restarts when a study is resumed in a new process, so the
  resumed study replays earlier draws. Here a sampler is seeded afresh for every trial from the seed and the
  trial's *draw index* (:func:`draw_index`: its number minus the failed trials before it), so a study killed
  and resumed, or one whose trial failed and was retried, draws exactly what an uninterrupted one draws.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

# The streams one study seed feeds. New uses get new numbers; an existing number never changes meaning.
STARTUP_STREAM = 1  # the paired start-up configurations shared by every arm of a seed
SAMPLER_STREAM = 2  # the arm's own sampler
SCHEME = "per-draw"  # recorded with every study; the records before it used "shared-stream"


def stream_seed(seed: int, stream: int, *parts: int) -> int:
    """A 32-bit seed for ``stream`` of study seed ``seed`` (and e.g. a draw index): independent across streams."""
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, stream, *parts]).generate_state(1)[0])


def draw_index(study: Study, trial: FrozenTrial) -> int:
    """The trial's place among the study's draws: its number minus the failed trials numbered before it.

    A failed (or killed, then marked failed) trial gives its draw to the trial that retries it, so the draws
    that follow are the same as in a study where nothing failed.
    """
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    return trial.number - sum(t.number < trial.number for t in failed)


class PerDrawSampler(BaseSampler):
    """A sampler built afresh for every trial, seeded from ``(seed, draw index)``.

    ``make(seed)`` returns the sampler to use (e.g. ``lambda s: TPESampler(seed=s)``). Optuna's samplers keep
    their randomness in a generator that advances trial after trial and restarts with the process; this one
    gives each draw its own seed, so what a trial is proposed depends only on the study's history and the
    draw's place in it. The cost: nothing a sampler caches survives from one trial to the next (GPSampler's
    warm start of its kernel fit, for instance).
    """

    def __init__(self, make: Callable[[int], BaseSampler], seed: int) -> None:
        self._make = make
        self._seed = int(seed)
        self._per_trial: dict[int, BaseSampler] = {}
        self.template = make(self._seed)  # the wrapped kind, for isinstance checks and repr

    def __repr__(self) -> str:
        return f"PerDrawSampler({type(self.template).__name__}, seed={self._seed})"

    def _for(self, trial: FrozenTrial) -> BaseSampler:
        sampler = self._per_trial.get(trial._trial_id)
        return sampler if sampler is not None else self.template  # before_trial not called (e.g. tests)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        sampler = self._make(stream_seed(self._seed, SAMPLER_STREAM, draw_index(study, trial)))
        self._per_trial[trial._trial_id] = sampler
        sampler.before_trial(study, trial)

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self._for(trial).infer_relative_search_space(study, trial)

    def sample_relative(self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return self._for(trial).sample_relative(study, trial, search_space)

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution) -> Any:
        return self._for(trial).sample_independent(study, trial, param_name, param_distribution)

    def after_trial(self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None) -> None:
        sampler = self._per_trial.pop(trial._trial_id, self.template)
        sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        """A new base seed (Optuna calls this before every trial of ``optimize(n_jobs > 1)``, so threads draw apart;
        such a study is not reproducible, as with Optuna's own samplers)."""
        self._seed = int(np.random.SeedSequence().generate_state(1)[0])
