"""The labels' natural noise, measured on each dataset, and the flips it cannot explain.

Every real dataset has labels that disagree with what the rest of the data says: classes overlap
(a diabetes dataset has ~25% Bayes error), identical rows carry different labels, annotators slip.
None of that is poisoning. The question a label screen must answer is whether there is *more*
disagreement, or more *structured* disagreement, than the dataset's own overlap explains.

The natural model. Out-of-fold probabilities of an ensemble say how plausible each label is; they
are calibrated on the dataset itself with one temperature ``T`` (``q = softmax(log p / T)``, fitted
by maximum likelihood of the given labels), so that a dataset whose classes overlap gets a soft
model and a separable one a sharp one. One temperature, not one bias per class: class biases
would let the null absorb a one-directional excess, which is what a targeted flip is. Rows
identical to other rows with different labels are ambiguous by construction: their natural
distribution leans on their group's other labels (:func:`group_counts`).

Two ways the labels may depart from it, each a one-parameter mixture fitted jointly with ``T``:

- **spread** flips at rate ``pi``: ``P(y) = (1 - pi) q_y + pi (1 - q_y) / (K - 1)``;
- a **targeted** pair ``a -> b``: a share ``tau`` of the true class ``a`` relabelled ``b``:
  ``P(b) = q_b + tau q_a``, ``P(a) = (1 - tau) q_a``.

A component is evidence when its likelihood-ratio test against the natural model, allowing
``allowance`` (annotation noise no careful process avoids) as natural, is significant after
Bonferroni over every component (chi-bar-squared: half a chi-squared with 1 degree of freedom,
the parameter sitting on its boundary under the null).

What this cannot see. Random flips are, in the labels alone, indistinguishable from a dataset
that is noisier by nature: they are seen only where the data is confident enough elsewhere that a
plateau of contradicting labels stands out. Models trained on poisoned labels partly learn the
flips ("absorption"), which lowers the estimates (measured in benchmarks/real_data.py). The
*detection limit* (:mod:`riskframe.detectors.labels._detection_limits`) says how large an effect this
dataset lets the test see; a verdict states it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PROB_FLOOR = 1e-6  # out-of-fold probabilities are clipped here: no label is impossible
_LOG_PRIOR_BOUNDS = (np.log(0.1), np.log(100.0))  # the model counts as 0.1 to 100 rows next to a group
_LOG_T_BOUNDS = (-6.0, 4.0)
_LOGIT_BOUNDS = (-14.0, 0.0)  # mixture weights in (0, 0.5]
# Rows calibrated at once: the temporaries of a slice stay in the cache, where those of a million
# rows (40 MB each) went to memory and back at every step (0.10 s a million rows; sliced, 0.04 s).
CALIBRATION_CHUNK = 16_384


@dataclass(frozen=True)
class Component:
    """A departure from the natural model: spread flips (``pair is None``) or a targeted pair.

    ``pair`` is ``(a, b)``: true class ``a`` labelled ``b``, in class codes.
    """

    pair: tuple[int, int] | None

    @property
    def name(self) -> str:
        return "spread" if self.pair is None else f"{self.pair[0]}->{self.pair[1]}"


@dataclass(frozen=True)
class Natural:
    """The natural model of a dataset's labels (see the module docstring)."""

    log_probs: np.ndarray  # (N, K) log of the clipped out-of-fold probabilities
    labels: np.ndarray  # (N,) class codes
    counts: np.ndarray | None  # (N, K) labels of each row's identical twins, or None
    temperature: float
    prior_weight: float  # how many of its group's rows the model's prediction counts as
    log_likelihood: float
    row_weights: np.ndarray | None = None  # (N,) evidence each row carries; None: one each

    @property
    def weights(self) -> np.ndarray:
        return np.ones(self.labels.size) if self.row_weights is None else self.row_weights

    @property
    def n_classes(self) -> int:
        return int(self.log_probs.shape[1])

    def subset(self, rows: np.ndarray, row_weights: np.ndarray | None = None) -> Natural:
        """The same calibration on ``rows`` only (a boolean mask), each carrying ``row_weights``."""
        if rows.all():  # every row: the same arrays, not a copy of a million rows of them
            return Natural(self.log_probs, self.labels, self.counts, self.temperature, self.prior_weight,
                           self.log_likelihood, row_weights)
        counts = None if self.counts is None else self.counts[rows]
        return Natural(self.log_probs[rows], self.labels[rows], counts, self.temperature, self.prior_weight,
                       self.log_likelihood, None if row_weights is None else row_weights[rows])

    def probs(self, temperature: float | None = None) -> np.ndarray:
        """Calibrated natural probabilities ``q`` (N, K)."""
        temperature = self.temperature if temperature is None else temperature
        return _calibrated(self.log_probs, temperature, self.counts, self.prior_weight)

    def probs_of(self, rows: slice, temperature: float) -> np.ndarray:
        """:meth:`probs` of a slice of rows (a large dataset a slice at a time)."""
        counts = None if self.counts is None else self.counts[rows]
        return _calibrated(self.log_probs[rows], temperature, counts, self.prior_weight)


def group_counts(groups: np.ndarray | None, labels: np.ndarray, n_classes: int) -> np.ndarray | None:
    """For each row, the label counts of the *other* rows of its group, where those disagree.

    Rows of a group that all share one label get zeros: identical copies of a flipped row must
    not vouch for it. In a group with mixed labels, the features cannot tell the labels apart,
    so each row's natural distribution leans on the group's other labels, and the row is
    ambiguity, not evidence (:func:`in_mixed_groups`).
    """
    if groups is None:
        return None
    _, codes = np.unique(groups, return_inverse=True)
    table = np.zeros((int(codes.max()) + 1, n_classes))
    np.add.at(table, (codes, labels), 1.0)
    mixed = (table > 0).sum(axis=1) > 1
    counts = table[codes] - np.eye(n_classes)[labels]
    counts[~mixed[codes]] = 0.0
    return counts if counts.any() else None


def in_mixed_groups(counts: np.ndarray | None, size: int) -> np.ndarray:
    """Rows whose group carries other labels too: ambiguous by construction, never a flip.

    Their labels are also not independent evidence (the rows of a group share one label
    distribution), so the tests leave them out rather than count each row once.
    """
    return np.zeros(size, dtype=bool) if counts is None else counts.sum(axis=1) > 0


def fit_natural(raw_probs: np.ndarray, labels: np.ndarray, counts: np.ndarray | None = None,
                fitted_on: np.ndarray | None = None) -> Natural:
    """Calibrate out-of-fold probabilities (N, K) to the given labels: one temperature, and where
    identical rows disagree, how much the model counts next to their group's other labels.

    ``fitted_on`` (indices) fits the calibration on those rows only (a sample of a large
    dataset); the model returned covers every row, its ``log_likelihood`` that of the sample."""
    from scipy.optimize import minimize, minimize_scalar

    log_probs = np.log(np.clip(raw_probs, PROB_FLOOR, None))
    fit_log_probs, fit_labels, fit_counts = log_probs, labels, counts
    if fitted_on is not None:
        fit_log_probs, fit_labels = log_probs[fitted_on], labels[fitted_on]
        fit_counts = None if counts is None else counts[fitted_on]
    at = np.arange(fit_labels.size)

    def nll(log_t: float, log_w: float = 0.0) -> float:
        q = _calibrated(fit_log_probs, np.exp(log_t), fit_counts, np.exp(log_w))
        return float(-np.log(q[at, fit_labels]).sum())

    if counts is None:
        best = minimize_scalar(nll, bounds=_LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-5})
        return Natural(log_probs, labels, None, float(np.exp(best.x)), 1.0, -float(best.fun))
    found = minimize(lambda v: nll(v[0], v[1]), np.array([0.0, np.log(2.0)]), method="L-BFGS-B",
                     bounds=[_LOG_T_BOUNDS, _LOG_PRIOR_BOUNDS])
    return Natural(log_probs, labels, counts, float(np.exp(found.x[0])), float(np.exp(found.x[1])),
                   -float(found.fun))


def _calibrated(log_probs: np.ndarray, temperature: float, counts: np.ndarray | None,
                prior_weight: float = 1.0) -> np.ndarray:
    if log_probs.shape[0] > CALIBRATION_CHUNK:  # a slice of rows at a time: the same numbers
        out = np.empty(log_probs.shape)
        for start in range(0, log_probs.shape[0], CALIBRATION_CHUNK):
            rows = slice(start, start + CALIBRATION_CHUNK)
            out[rows] = _calibrated(log_probs[rows], temperature, None if counts is None else counts[rows],
                                    prior_weight)
        return out
    z = log_probs / temperature
    z -= _across_classes(np.maximum, z)[:, None]
    q = np.exp(z)
    q /= _across_classes(np.add, q)[:, None]
    if counts is not None:
        q = (prior_weight * q + counts) / (prior_weight + counts.sum(axis=1, keepdims=True))
    return np.clip(q, PROB_FLOOR, None)


def _across_classes(ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
    """``ufunc.reduce(values, axis=1)``; for fewer than 8 classes one column at a time, left to
    right: the same numbers (numpy adds fewer than 8 values in order too), several times faster,
    where numpy's short row reductions spend their time in loop set-up. The calibration runs this
    a thousand times per dataset."""
    if values.shape[1] >= 8:
        return np.asarray(ufunc.reduce(values, axis=1))
    out: np.ndarray = values[:, 0].copy()
    for column in range(1, values.shape[1]):
        ufunc(out, values[:, column], out=out)
    return out


def label_probs(q: np.ndarray, weights: dict[Component, float]) -> np.ndarray:
    """P(given label | x) when ``weights`` flips happen on top of the natural ``q``: pairs first,
    then spread flips on the result."""
    k = q.shape[1]
    out = q.copy()
    for component, weight in weights.items():
        if component.pair is not None:
            a, b = component.pair
            moved = weight * q[:, a]
            out[:, a] -= moved
            out[:, b] += moved
    spread = weights.get(Component(None), 0.0)
    if spread:
        out = (1.0 - spread) * out + spread * (1.0 - out) / (k - 1)
    return np.asarray(out)


@dataclass(frozen=True)
class Fit:
    """The natural model plus components, at their maximum-likelihood weights."""

    temperature: float
    weights: dict[Component, float]
    log_likelihood: float


def fit_components(natural: Natural, free: list[Component], fixed: dict[Component, float] | None = None) -> Fit:
    """Maximum likelihood of ``T`` and the weights of ``free`` (each in [0, 0.5]); ``fixed`` weights
    stay where they are (the null of a test, at the allowance)."""
    from scipy.optimize import minimize

    fixed = fixed or {}
    nll = _LabelLikelihood(natural, free, fixed)
    bounds = [_LOG_T_BOUNDS] + [_LOGIT_BOUNDS] * len(free)
    starts = [np.array([np.log(natural.temperature)] + [-7.0] * len(free)),
              np.array([np.log(natural.temperature) - 0.5] + [-2.5] * len(free))]
    best = min((minimize(nll, s, jac=True, method="L-BFGS-B", bounds=bounds) for s in starts[: 1 + bool(free)]),
               key=lambda r: r.fun)
    temperature, weights = nll.unpack(best.x)
    return Fit(temperature, weights, -float(best.fun))


class _LabelLikelihood:
    """The negative log-likelihood of the given labels under the natural model at temperature
    ``exp(v[0])`` plus components (``fixed``, and ``free`` at weights ``sigmoid(v[1:])``), and its
    gradient in ``v``: :func:`label_probs` of :meth:`Natural.probs`, for the given label only.

    L-BFGS-B's numerical gradient costs an evaluation per parameter at every step: the tests of
    the million-row benchmark (50,000 tested rows) made 1,744 evaluations with it, 501 with this
    one. The exact gradient costs about one more pass over the rows, and only the columns the
    labels and the pairs read are normalised.
    """

    def __init__(self, natural: Natural, free: list[Component], fixed: dict[Component, float]) -> None:
        self.free, self.fixed, self.k = free, fixed, natural.n_classes
        rows, labels = np.arange(natural.labels.size), natural.labels
        # Softmax is unchanged by a row's shift; shifted by its largest, exp never overflows. One
        # class per row of the array (K, N): its columns of the rows are then contiguous.
        shifted = natural.log_probs - _across_classes(np.maximum, natural.log_probs)[:, None]
        self.shifted, self.shifted_own = np.ascontiguousarray(shifted.T), shifted[rows, labels]
        self.prior_share: float | np.ndarray = 1.0  # of a row's calibrated probabilities, beside its group's labels
        self.counts: np.ndarray | None = None  # (K, N): the group's other labels, as shares of the row's total
        self.counts_own: np.ndarray | None = None
        if natural.counts is not None:
            total = natural.prior_weight + natural.counts.sum(axis=1)
            self.prior_share = natural.prior_weight / total
            self.counts = np.ascontiguousarray((natural.counts / total[:, None]).T)
            self.counts_own = self.counts.T[rows, labels]
        self.weights = natural.weights
        # Each pair a -> b moves tau * q_a from class a to class b: +q_a on labels b, -q_a on labels a.
        self.signs = {c: (labels == c.pair[1]).astype(float) - (labels == c.pair[0])
                      for c in [*free, *fixed] if c.pair is not None}

    def unpack(self, v: np.ndarray) -> tuple[float, dict[Component, float]]:
        weights = dict(self.fixed)
        weights.update({c: float(1.0 / (1.0 + np.exp(-x))) for c, x in zip(self.free, v[1:], strict=True)})
        return float(np.exp(v[0])), weights

    def _column(self, z: np.ndarray, e: np.ndarray, total: np.ndarray, mean_z: np.ndarray,
                counts: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """One class's calibrated probability per row (clipped as :func:`_calibrated` clips it), and
        its derivative in log T; ``z`` and ``e`` are the class's scaled logits and their exp."""
        q = e / total
        dq = q * (mean_z - z)  # d softmax_c / d log T, since d z_j / d log T = -z_j
        if counts is not None:  # (w q + counts) / (w + their total)
            q = self.prior_share * q + counts
            dq = self.prior_share * dq
        low = q < PROB_FLOOR
        return np.where(low, PROB_FLOOR, q), np.where(low, 0.0, dq)

    def __call__(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        temperature, weights = self.unpack(v)
        z = self.shifted / temperature
        e = np.exp(z)
        total = e.sum(axis=0)  # numpy adds the rows of (K, N) in order, as _across_classes does
        mean_z = (e * z).sum(axis=0) / total
        z_own = self.shifted_own / temperature
        own, d_own = self._column(z_own, np.exp(z_own), total, mean_z, self.counts_own)
        moved: dict[Component, np.ndarray] = {}
        for component, sign in self.signs.items():
            a = component.pair[0]  # type: ignore[index]
            q_a, dq_a = self._column(z[a], e[a], total, mean_z, None if self.counts is None else self.counts[a])
            moved[component] = sign * q_a
            own = own + weights[component] * moved[component]
            d_own = d_own + weights[component] * sign * dq_a
        spread = weights.get(Component(None), 0.0)
        slope = 1.0 - spread * self.k / (self.k - 1)  # d P / d own, P = (1 - pi) own + pi (1 - own) / (K - 1)
        p = own * slope + spread / (self.k - 1)
        alive = p > 1e-300
        value = -float((self.weights * np.log(np.where(alive, p, 1e-300))).sum())
        per_row = np.where(alive, -self.weights / np.where(alive, p, 1.0), 0.0)  # d nll / d P
        gradient = np.empty(v.size)
        gradient[0] = float((per_row * slope * d_own).sum())
        for i, component in enumerate(self.free, start=1):
            w = weights[component]
            d_p = (1.0 - self.k * own) / (self.k - 1) if component.pair is None else slope * moved[component]
            gradient[i] = float((per_row * d_p).sum()) * w * (1.0 - w)
        return value, gradient


@dataclass(frozen=True)
class Evidence:
    """One component tested against the natural model (plus components already accepted)."""

    component: Component
    weight: float  # maximum-likelihood weight
    statistic: float  # likelihood ratio against the weight held at the allowance
    p_value: float  # Bonferroni-adjusted over ``tests`` components


def ratio_test(natural: Natural, component: Component, allowance: float, accepted: dict[Component, float],
                   tests: int) -> Evidence:
    """Likelihood-ratio test of ``component`` beyond ``allowance``, the ``accepted`` ones refitted too."""
    from scipy.stats import chi2

    others = [c for c in accepted if c != component]
    alternative = fit_components(natural, [component, *others])
    weight = alternative.weights[component]
    if weight <= allowance:
        return Evidence(component, weight, 0.0, 1.0)
    null = fit_components(natural, others, fixed={component: allowance})
    statistic = max(0.0, 2.0 * (alternative.log_likelihood - null.log_likelihood))
    p_value = min(1.0, tests * 0.5 * float(chi2.sf(statistic, 1)))
    return Evidence(component, weight, statistic, p_value)


def pair_candidates(natural: Natural, limit: int) -> list[Component]:
    """The ``limit`` pairs with the largest score statistic for a flip at the natural model."""
    q = natural.probs()
    k = natural.n_classes
    onehot = np.eye(k)[natural.labels] * natural.weights[:, None]
    # d/dtau log-likelihood at tau = 0 for pair a -> b: sum over y=b of q_a / q_b, minus the count of a.
    gain = (q.T @ (onehot / q)) - onehot.sum(axis=0)[:, None]
    information = information_matrix(q, natural.weights)
    z = gain / np.sqrt(np.maximum(information, 1e-12))
    np.fill_diagonal(z, -np.inf)
    order = np.argsort(-z, axis=None)[: min(limit, k * (k - 1))]
    return [Component((int(a), int(b))) for a, b in zip(*np.unravel_index(order, z.shape), strict=True)]


def information_matrix(q: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fisher information of ``tau`` at 0 for every pair a -> b: sum_i w_i (q_ia^2 / q_ib + q_ia)."""
    return np.asarray((weights[:, None] * q**2).T @ (1.0 / q) + (weights[:, None] * q).sum(axis=0)[:, None])


def profile_interval(natural: Natural, component: Component, fit: Fit, level: float = 0.95) -> tuple[float, float]:
    """Likelihood interval of ``component``'s weight in ``fit``, the temperature and the other
    weights held at their fitted values (a one-dimensional, concave log-likelihood)."""
    from scipy.optimize import brentq
    from scipy.stats import chi2

    drop = float(chi2.ppf(level, 1)) / 2.0
    q = natural.probs(fit.temperature)
    rows = np.arange(natural.labels.size)

    def log_likelihood(weight: float) -> float:
        weights = {**fit.weights, component: weight}
        return float((natural.weights * np.log(np.clip(label_probs(q, weights)[rows, natural.labels], 1e-300,
                                                        None))).sum())

    best = fit.weights[component]
    top = log_likelihood(best)

    def deficit(weight: float) -> float:
        return top - log_likelihood(weight) - drop

    low = 0.0 if deficit(0.0) <= 0 else brentq(deficit, 0.0, best, xtol=1e-6)
    high = 0.5 if deficit(0.5) <= 0 else brentq(deficit, best, 0.5, xtol=1e-6)
    return float(low), float(high)


def responsibilities(q: np.ndarray, labels: np.ndarray, weights: dict[Component, float]) -> np.ndarray:
    """Posterior probability that each given label was flipped, under ``weights``."""
    rows = np.arange(labels.size)
    natural_part = label_probs(q, {})[rows, labels]
    total = label_probs(q, weights)[rows, labels]
    kept = natural_part.copy()
    for component, weight in weights.items():
        if component.pair is not None and weight > 0:
            a, _ = component.pair
            kept = np.where(labels == a, (1.0 - weight) * kept, kept)
    spread = weights.get(Component(None), 0.0)
    kept = (1.0 - spread) * kept
    return np.asarray(np.clip(1.0 - kept / np.clip(total, 1e-300, None), 0.0, 1.0))
