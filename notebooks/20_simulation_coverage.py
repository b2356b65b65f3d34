# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 20 · Coverage of confidence and prediction intervals: z vs Hartung-Knapp-Sidik-Jonkman
#
# **What this reproduces.** The simulation findings of IntHout J, Ioannidis JPA, Borm GF. *The
# Hartung-Knapp-Sidik-Jonkman method for random effects meta-analysis is straightforward and
# considerably outperforms the standard DerSimonian-Laird method.* BMC Med Res Methodol 2014;14:25
# (Figures 2-3), and for prediction intervals Partlett C, Riley RD. Stat Med 2017;36:301-317:
#
# 1. the Wald (z) confidence interval for the mean effect μ under-covers when k is small and there is
#    heterogeneity, whatever the τ² estimator (DL or REML);
# 2. the HKSJ interval (t with k − 1 df, variance scaled by s²) stays close to the nominal 95%;
# 3. the prediction interval for the effect in a new study under-covers with few studies when it uses
#    the normal quantile, and does better with t(k − 1).
#
# **Design.** k = 3, 5, 10, 20, 30 studies; I² = 0, 25, 50, 75, 90%; τ² estimators DL and REML;
# tests `z` and `knha`. Within-study variances vᵢ ~ U(0.02, 0.2) (typical variance ṽ ≈ 0.1), so
# τ² = ṽ·I²/(1 − I²); true effects θᵢ ~ N(μ = 0, τ²); yᵢ ~ N(θᵢ, vᵢ). 5,000 replicates per cell
# (Monte-Carlo SE of a 95% coverage ≈ 0.3 percentage points). All fits go through the public API
# (`metaacu.batch.meta_analysis_batch`, identical to `metaacu.meta_analysis` row by row). How long it
# takes is measured in `benchmarks/`, not here, so that the executed copy is the same on every run.

# %%
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

import metaacu
from metaacu.batch import meta_analysis_batch
from metaacu.plots import inline

SEED = 2014
NSIM = 5000
KS = (3, 5, 10, 20, 30)
I2S = (0.0, 0.25, 0.50, 0.75, 0.90)
V_TYPICAL = 0.1
MU = 0.0
LEVEL = 0.95
print(f"metaacu {metaacu.__version__}; {NSIM} replicates per cell, seed {SEED}")

# %%
rng = np.random.default_rng(SEED)
rows = []
for k in KS:
    for i2 in I2S:
        tau2 = V_TYPICAL * i2 / (1 - i2)
        v = rng.uniform(0.02, 0.2, (NSIM, k))
        y = rng.normal(MU, np.sqrt(v + tau2))
        for method in ("DL", "REML"):
            for test in ("z", "knha"):
                res = meta_analysis_batch(y, v, method=method, test=test, level=LEVEL)
                assert res.ok.all() and res.converged.all()
                ci_cover = (res.ci_low <= MU) & (MU <= res.ci_high)
                if tau2 > 0:  # probability that a new study's true effect falls in the PI
                    sd = np.sqrt(tau2)
                    pi_cover = stats.norm.cdf((res.pi_high - MU) / sd) - stats.norm.cdf((res.pi_low - MU) / sd)
                else:
                    pi_cover = ((res.pi_low <= MU) & (MU <= res.pi_high)).astype(float)
                rows.append({"k": k, "I2": i2, "method": method, "test": test,
                             "ci_coverage": ci_cover.mean(), "pi_coverage": pi_cover.mean()})
cov = pd.DataFrame(rows)
print(f"{len(KS) * len(I2S) * 4 * NSIM:,} meta-analyses fitted")

# %%
table = cov.pivot_table(index=["method", "k"], columns=["test", "I2"], values="ci_coverage")
(100 * table).round(1)

# %%
# A figure of our own (not pyplot's), shown by `inline`: once, in any kernel and under any backend.
fig = Figure(figsize=(10, 7), layout="constrained")
axes = fig.subplots(2, 2, sharex=True, sharey=True)
for (r, method), (c, what) in [((r, m), (c, w)) for r, m in enumerate(("DL", "REML"))
                               for c, w in enumerate(("ci_coverage", "pi_coverage"))]:
    ax = axes[r, c]
    for test, style in (("z", "--"), ("knha", "-")):
        for i2, color in zip(I2S, matplotlib.colormaps["viridis"](np.linspace(0, 0.9, len(I2S)))):
            d = cov[(cov.method == method) & (cov.test == test) & (cov.I2 == i2)]
            ax.plot(d.k, 100 * d[what], style, color=color, marker="o", ms=3,
                    label=f"{test}, I²={100 * i2:.0f}%" if (r, c) == (0, 0) else None)
    ax.axhline(95, color="grey", lw=0.8)
    ax.set_title(f"{method}: {'CI for μ' if what == 'ci_coverage' else 'prediction interval'}")
    ax.set_xlabel("k (studies)")
    ax.set_ylabel("coverage (%)")
axes[0, 0].legend(fontsize=7, ncol=2)
fig.suptitle("Coverage of nominal 95% intervals (dashed: z, solid: HKSJ / t(k−1))")
inline(fig)

# %% [markdown]
# ## The known results, checked
#
# Each claim is printed with the numbers it rests on and checked with an `assert`, so the notebook
# fails if a change to the engine breaks a published finding.

# %%
def c(method, test, k, i2, what="ci_coverage"):
    return float(cov.query("method == @method and test == @test and k == @k and I2 == @i2")[what].iloc[0])


het = cov[cov.I2 >= 0.5]
small_het = het[het.k <= 5]
worst_z = {m: small_het[(small_het.method == m) & (small_het.test == "z")].ci_coverage.min() for m in ("DL", "REML")}
print("1. z CIs under-cover with few studies and heterogeneity (k <= 5, I2 >= 50%): lowest coverage "
      + ", ".join(f"{m} {100 * x:.1f}%" for m, x in worst_z.items()))
assert all(x < 0.91 for x in worst_z.values())
print(f"   e.g. DL, k = 3, I2 = 75%: z {100 * c('DL', 'z', 3, 0.75):.1f}% vs HKSJ {100 * c('DL', 'knha', 3, 0.75):.1f}%")

hk = cov[cov.test == "knha"].ci_coverage
print(f"2. HKSJ CIs stay near 95% in every cell: range {100 * hk.min():.1f}% to {100 * hk.max():.1f}%")
assert hk.min() > 0.92 and hk.max() < 0.99

few = het[het.k <= 10]
gain = (few[few.test == "knha"].set_index(["method", "k", "I2"]).ci_coverage
        - few[few.test == "z"].set_index(["method", "k", "I2"]).ci_coverage)
print(f"   HKSJ minus z coverage where k <= 10 and I2 >= 50%: {100 * gain.min():.1f} to {100 * gain.max():.1f} points")
assert (gain > 0).all()

pz = small_het[small_het.test == "z"].pi_coverage
pt = small_het[small_het.test == "knha"].pi_coverage
print(f"3. Prediction intervals (k <= 5, I2 >= 50%): normal quantile {100 * pz.min():.1f}%-{100 * pz.max():.1f}%, "
      f"t(k-1) {100 * pt.min():.1f}%-{100 * pt.max():.1f}%")
assert pz.max() < 0.93 and (pt.values > pz.values).all()

print("All checks passed.")
