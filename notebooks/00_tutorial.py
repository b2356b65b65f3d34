# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
# ---

# %% [markdown]
# # Tutorial: a meta-analysis step by step with metaacu
#
# This notebook walks through one random-effects meta-analysis and explains each number. It uses
# the BCG vaccine trials (Colditz et al. 1994, shipped with metaacu as a teaching dataset) because
# they have many trials and real heterogeneity, and then the pregnancy trials of this project's audit.
# Every number in the text is printed by the code next to it.

# %%
import matplotlib

matplotlib.use("Agg")
import numpy as np

import metaacu
from metaacu.datasets import bcg
from metaacu.plots import forest_plot, funnel_plot

trials = bcg()
trials.head()

# %% [markdown]
# ## 1. Effect sizes
# Each trial gives a 2x2 table: tuberculosis cases among `n1` vaccinated and `n2` unvaccinated people.
# `effect_sizes("RR", ...)` turns each table into a log risk ratio `yi` and its sampling variance
# `vi = 1/a - 1/n1 + 1/c - 1/n2`. Ratios are analysed on the log scale because there they are roughly
# normal and symmetric; we exponentiate only to report.

# %%
es = metaacu.effect_sizes("RR", data=trials, labels="trial", events1="tpos", n1="n1", events2="cpos", n2="n2")
print(es.to_frame()[["label", "yi", "vi", "ci_low", "ci_high"]].round(3).to_string(index=False))

# %% [markdown]
# ## 2. Common effect versus random effects
# The common-effect (equal-effect) model assumes one true effect and weights trials by `1/vi`. The
# random-effects model lets true effects vary with variance τ² and weights by `1/(vi + τ²)`, which
# spreads weight more evenly and widens the confidence interval.

# %%
ee = metaacu.meta_analysis(es, method="EE")
re = metaacu.meta_analysis(es, method="REML")
for name, m in (("common effect", ee), ("random effects (REML)", re)):
    print(f"{name:22s} RR {np.exp(m.estimate):.3f} [{np.exp(m.ci_low):.3f}, {np.exp(m.ci_high):.3f}]  largest weight {m.weights.max():.1f}%")

# %% [markdown]
# ## 3. Heterogeneity
# Cochran's Q compares the spread of the trial estimates with what sampling error alone would give
# (k - 1 degrees of freedom). I² is the share of the variability that is between-trial rather than
# sampling error; τ² is the between-trial variance itself, on the log-RR scale. The Q-profile
# interval shows how uncertain τ² is.

# %%
tci = re.tau2_confint()
print(f"Q = {re.q:.1f} on {re.q_df} df (p = {re.q_pvalue:.2g}); I² = {re.i2:.1f}%; tau² = {re.tau2:.3f} (95% CI {tci.low:.3f} to {tci.high:.3f})")

# %% [markdown]
# ## 4. Estimators of τ²
# There are several ways to estimate τ². They agree when heterogeneity is clear and differ when k is
# small. metaacu implements the ones metafor offers and agrees with metafor to many digits.

# %%
for method in ("DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS"):
    m = metaacu.meta_analysis(es, method=method)
    print(f"{method:5s} tau² = {m.tau2:.4f}  RR = {np.exp(m.estimate):.3f} [{np.exp(m.ci_low):.3f}, {np.exp(m.ci_high):.3f}]")

# %% [markdown]
# ## 5. Hartung-Knapp-Sidik-Jonkman and the prediction interval
# The Wald (z) interval ignores the uncertainty in τ². HKSJ rescales the variance and uses a t
# distribution with k - 1 df; Cochrane now recommends it. The prediction interval answers a different
# question: where will the true effect of a *new* trial probably lie? It adds τ² to the uncertainty.

# %%
kh = metaacu.meta_analysis(es, method="REML", test="knha")
pi = kh.prediction_interval()
print(f"z:    RR {np.exp(re.ci_low):.3f} to {np.exp(re.ci_high):.3f}")
print(f"HKSJ: RR {np.exp(kh.ci_low):.3f} to {np.exp(kh.ci_high):.3f}")
print(f"95% prediction interval: RR {np.exp(pi.low):.3f} to {np.exp(pi.high):.3f}")

# %%
fp = forest_plot(kh, favours=("vaccine", "control"), order="year")
fp.figure

# %% [markdown]
# ## 6. Sensitivity: does one trial drive the result?
# Leave-one-out refits the model without each trial in turn. If the pooled estimate or its
# significance changes when one trial is dropped, the conclusion leans on that trial. Influence
# diagnostics (Viechtbauer & Cheung 2010) flag trials that are outlying or change the fit a lot.

# %%
from metaacu.plots import leave_one_out_plot

loo = metaacu.leave_one_out(re)
rr = np.exp(loo.estimate)
print(f"pooled RR without each trial ranges from {rr.min():.3f} to {rr.max():.3f} (all trials: {np.exp(re.estimate):.3f})")
infl = metaacu.influence(re)
flagged = [lab for lab, f in zip(re.labels, infl.is_influential) if f]
print("influential by metafor's rule:", ", ".join(flagged) or "none")
leave_one_out_plot(loo, favours=("vaccine", "control")).figure

# %% [markdown]
# ## 7. Small-study effects
# A funnel plot shows each trial's effect against its standard error. Asymmetry (small trials with
# larger effects) can signal publication bias, but also real differences between small and large trials.
# Egger's regression tests the asymmetry; trim-and-fill imputes the "missing" trials that would make
# the funnel symmetric and re-estimates. With 13 trials and I² above 90%, both are weak tools here:
# heterogeneity alone can make a funnel look asymmetric.

# %%
egger = metaacu.egger_test(re)
tf = metaacu.trim_and_fill(re)
print(f"Egger test: t = {egger.statistic:.2f}, p = {egger.pvalue:.3f}")
print(f"trim-and-fill: {tf.k0} trial(s) imputed on the {tf.side} side; adjusted RR {np.exp(tf.adjusted.estimate):.3f}")
funnel_plot(re, filled=(tf.filled_yi, tf.filled_vi)).figure

# %% [markdown]
# ## 8. The project's own data: pregnancy trials
# The same steps on the audit's data: two small trials, so τ² is barely estimable and the prediction
# interval is uninformative. See `05_pregnancy` for the verdict and its sensitivity analysis.

# %%
from metaacu.audit.claims import evaluate_claim

preg = evaluate_claim("pregnancy_pain_relief")
print(preg.model.summary())
