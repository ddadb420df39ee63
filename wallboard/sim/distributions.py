"""Duration distributions for scenario files (seconds), e.g. ``{ kind = "lognormal", mean = 240, sd = 90 }``.

Each one is parameterised by its mean (and spread) as a contact-centre planner states them, not by the
textbook's shape/scale: AHT reports give a mean and a standard deviation. ``sampler(rng)`` returns a
zero-argument function bound to ``rng`` so the simulator's hot path makes one call per draw.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Sampler = Callable[[], float]

PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def sampler(self, rng: random.Random) -> Sampler:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def mean_s(self) -> float:  # pragma: no cover
        raise NotImplementedError


class Fixed(_Dist):
    """Always ``value`` seconds (0 allowed: e.g. no wrap-up)."""

    kind: Literal["fixed"]
    value: Annotated[float, Field(ge=0, allow_inf_nan=False)]

    def sampler(self, rng: random.Random) -> Sampler:
        v = float(self.value)
        return lambda: v

    @property
    def mean_s(self) -> float:
        return float(self.value)


class Exponential(_Dist):
    """Memoryless, as in Erlang C / Erlang A models."""

    kind: Literal["exponential"]
    mean: PositiveSeconds

    def sampler(self, rng: random.Random) -> Sampler:
        expo, lam = rng.expovariate, 1.0 / self.mean
        return lambda: expo(lam)

    @property
    def mean_s(self) -> float:
        return float(self.mean)


class Uniform(_Dist):
    kind: Literal["uniform"]
    low: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    high: Annotated[float, Field(ge=0, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self

    def sampler(self, rng: random.Random) -> Sampler:
        uni, lo, hi = rng.uniform, self.low, self.high
        return lambda: uni(lo, hi)

    @property
    def mean_s(self) -> float:
        return (self.low + self.high) / 2


class LogNormal(_Dist):
    """Talk times are right-skewed: most calls short, a long tail. Given by mean and standard deviation."""

    kind: Literal["lognormal"]
    mean: PositiveSeconds
    sd: PositiveSeconds

    def sampler(self, rng: random.Random) -> Sampler:
        sigma2 = math.log1p((self.sd / self.mean) ** 2)
        mu, sigma = math.log(self.mean) - sigma2 / 2, math.sqrt(sigma2)
        lognorm = rng.lognormvariate
        return lambda: lognorm(mu, sigma)

    @property
    def mean_s(self) -> float:
        return float(self.mean)


class Gamma(_Dist):
    """Given by mean and standard deviation (shape = (mean/sd)², scale = sd²/mean)."""

    kind: Literal["gamma"]
    mean: PositiveSeconds
    sd: PositiveSeconds

    def sampler(self, rng: random.Random) -> Sampler:
        shape, scale = (self.mean / self.sd) ** 2, self.sd**2 / self.mean
        gamma = rng.gammavariate
        return lambda: gamma(shape, scale)

    @property
    def mean_s(self) -> float:
        return float(self.mean)


Distribution = Annotated[Fixed | Exponential | Uniform | LogNormal | Gamma, Field(discriminator="kind")]
DISTRIBUTION_KINDS = ("fixed", "exponential", "uniform", "lognormal", "gamma")
