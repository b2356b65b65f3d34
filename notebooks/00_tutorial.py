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
# This notebook teaches the steps of a meta-analysis and how to read each number, with two classic
# teaching datasets:
#
# * **a continuous outcome**: length of hospital stay (days) after a stroke, specialist stroke-unit
#   care against routine care (Normand SL. *Meta-analysis: formulating, evaluating, combining, and
#   reporting.* Stat Med 1999;18:321-359; R's `dat.normand1999`);
# * **a binary outcome**: tuberculosis in trials of the BCG vaccine (Colditz GA et al. JAMA
#   1994;271:698-702; R's `dat.bcg`, shipped with metaacu as `metaacu.datasets.bcg()`).
#
# It covers mean differences and Hedges' g, reading a forest plot, common versus random effects,
# estimators of τ², Hartung-Knapp-Sidik-Jonkman (HKSJ) intervals and prediction intervals,
# subgroups and meta-regression, leave-one-out, small-study effects, the pitfalls of having few
# studies and what a prior on τ does about them. It uses only metaacu's public API, and **every
# number in the text is printed by the code next to it**; where the text makes a claim about the numbers, an `assert` checks it. Exercises with
# hidden solutions close the notebook.

# %%
import warnings

import numpy as np
import pandas as pd

import metaacu
from metaacu.datasets import bcg
from metaacu.plots import bubble_plot, leave_one_out_plot

print(f"metaacu {metaacu.__version__}")

# %% [markdown]
# ## 1. A continuous outcome: mean differences from means and SDs
#
# Each trial reports, per arm, the number of patients `n`, the mean length of stay and its standard
# deviation (SD). Group 1 is specialist care, group 2 routine care.

# %%
stroke = pd.DataFrame({
    "trial": ["Edinburgh", "Orpington-Mild", "Orpington-Moderate", "Orpington-Severe", "Montreal-Home",
              "Montreal-Transfer", "Newcastle", "Umea", "Uppsala"],
    "n1": [155, 31, 75, 18, 8, 57, 34, 110, 60], "mean1": [55, 27, 64, 66, 14, 19, 52, 21, 30],
    "sd1": [47, 7, 17, 20, 8, 7, 45, 16, 27],
    "n2": [156, 32, 71, 18, 13, 52, 33, 183, 52], "mean2": [75, 29, 119, 137, 18, 18, 41, 31, 23],
    "sd2": [64, 4, 29, 48, 11, 4, 34, 27, 20],
})
arms = dict(n1="n1", mean1="mean1", sd1="sd1", n2="n2", mean2="mean2", sd2="sd2")
md = metaacu.effect_sizes("MD", data=stroke, labels="trial", **arms)
md.to_frame()[["label", "yi", "vi", "ci_low", "ci_high"]].round(2)

# %% [markdown]
# The **mean difference** (MD) is `yi = mean1 − mean2`, in days; a negative value means a shorter
# stay under specialist care. Its sampling variance adds the two squared standard errors of the
# means, `vi = sd1²/n1 + sd2²/n2`. Checking the first trial by hand:

# %%
first = stroke.iloc[0]
by_hand = (first.mean1 - first.mean2, first.sd1**2 / first.n1 + first.sd2**2 / first.n2)
print(f"{first.trial}: MD = {by_hand[0]:.2f} days, variance = {by_hand[1]:.4f}")
print(f"effect_sizes gives {md.yi[0]:.2f} and {md.vi[0]:.4f}")
assert np.allclose(by_hand, (md.yi[0], md.vi[0]))

# %% [markdown]
# ### Hedges' g: a standardised mean difference
#
# When trials measure the outcome on different scales, differences are divided by an SD to make them
# comparable. The SD is **pooled** over both arms, each weighted by its degrees of freedom,
# `s_p = √(((n1 − 1)·sd1² + (n2 − 1)·sd2²) / (n1 + n2 − 2))`, and Cohen's `d = (mean1 − mean2)/s_p`.
#
# `d` is biased away from zero in small trials: `s_p` underestimates the true SD a little on average,
# so the ratio is too large. Hedges' **small-sample correction** multiplies `d` by
# `J(m) = Γ(m/2) / (√(m/2)·Γ((m − 1)/2))` with `m = n1 + n2 − 2` degrees of freedom
# (≈ `1 − 3/(4m − 1)`), giving Hedges' g. `J` matters only for small trials. The variance of g is
# `1/n1 + 1/n2 + g²/(2(n1 + n2))`.

# %%
smd = metaacu.effect_sizes("SMD", data=stroke, labels="trial", **arms)
m = stroke.n1 + stroke.n2 - 2
sp = np.sqrt(((stroke.n1 - 1) * stroke.sd1**2 + (stroke.n2 - 1) * stroke.sd2**2) / m)
d = (stroke.mean1 - stroke.mean2) / sp
j = metaacu.hedges_j(m)
assert np.allclose(j * d, smd.yi)
table = pd.DataFrame({"trial": stroke.trial, "df": m, "pooled SD": sp, "d": d, "J": j, "g": smd.yi, "var(g)": smd.vi})
print(table.round(3).to_string(index=False))
small, large = int(np.argmin(m)), int(np.argmax(m))
print(f"\nsmallest trial, {stroke.trial[small]} ({m[small]} df): J = {j[small]:.4f}, so g is {100 * (1 - j[small]):.1f}% "
      f"closer to zero than d; largest, {stroke.trial[large]} ({m[large]} df): J = {j[large]:.4f}")

# %% [markdown]
# ## 2. Pooling, and how to read a forest plot
#
# A random-effects model (REML, metaacu's and metafor's default) pools the mean differences. The
# forest plot shows every number of the analysis at once:

# %%
res_md = metaacu.meta_analysis(md)
fp = metaacu.forest_plot(res_md, favours=("specialist care", "routine care"))
fp

# %% [markdown]
# * **each row is a trial**: its data on the left, its estimate and 95% confidence interval (CI) on
#   the right; the **square** sits at the estimate and its **area is proportional to the trial's
#   weight** (the Weight column), the **horizontal line** is the CI (an arrow where it runs off the
#   axis);
# * the **vertical line** is no effect (0 for differences, 1 for ratios); the labels under the axis
#   say which side favours which arm — here, left of 0 means shorter stays with specialist care;
# * the **diamond** is the pooled estimate: its centre is the estimate and its width the CI;
# * the **red bar** is the 95% **prediction interval** (section 5);
# * under the table, **heterogeneity** (τ², Cochran's Q with its df and p-value, I²) and the **test
#   for overall effect**.
#
# The plot object holds what it drew, so the numbers can be read back:

# %%
rows = fp.rows[fp.rows.kind == "study"]
heaviest = rows.loc[rows.weight.idxmax()]
print(f"heaviest trial: {heaviest.label} with {heaviest.weight:.1f}% of the weight")
print(f"diamond: MD {res_md.estimate:.1f} days, 95% CI {res_md.ci_low:.1f} to {res_md.ci_high:.1f}")
print(f"heterogeneity: tau² = {res_md.tau2:.1f} days², I² = {res_md.i2:.1f}%")

# %% [markdown]
# ## 3. Common effect or random effects? (BCG trials)
#
# Each BCG trial is a 2×2 table: tuberculosis cases among `n1` vaccinated and `n2` unvaccinated
# people. `effect_sizes("RR", ...)` gives the log risk ratio and its variance
# `1/a − 1/n1 + 1/c − 1/n2`. Ratios are analysed on the log scale, where they are roughly normal and
# symmetric, and back-transformed only to report.
#
# The **common-effect** (equal-effect) model assumes one true effect and weights each trial by
# `1/vi`: the question is "what is *the* effect?". The **random-effects** model lets the true effects
# vary between trials with variance τ² and weights by `1/(vi + τ²)`: the question becomes "what is the
# *average* effect?". Adding the same τ² to every variance spreads the weight more evenly, and the
# CI, which now includes the between-trial variation, is wider.

# %%
trials = bcg()
es = metaacu.effect_sizes("RR", data=trials, labels="trial", events1="tpos", n1="n1", events2="cpos", n2="n2")
ee = metaacu.meta_analysis(es, method="EE")
re = metaacu.meta_analysis(es, method="REML")
for name, fit in (("common effect", ee), ("random effects (REML)", re)):
    top = int(np.argmax(fit.weights))
    print(f"{name:22s} RR {np.exp(fit.estimate):.3f} [{np.exp(fit.ci_low):.3f}, {np.exp(fit.ci_high):.3f}]; "
          f"heaviest trial {fit.labels[top]} with {fit.weights[top]:.1f}%")
assert ee.weights.max() > re.weights.max() and re.ci_high - re.ci_low > ee.ci_high - ee.ci_low

# %%
metaacu.forest_plot(re, second=ee, favours=("vaccine", "control"), sort_by="year")

# %% [markdown]
# The grey diamond is the common-effect estimate. Which model to use is decided before looking at
# the numbers: the trials differ in place, population and time, so one common effect is not
# plausible, and the random-effects model is the usual choice. Note that both answer *different*
# questions; neither is "more conservative" by construction.

# %% [markdown]
# ## 4. Heterogeneity and the estimators of τ²
#
# Cochran's Q compares the spread of the trial estimates with what sampling error alone would give
# (k − 1 degrees of freedom). I² is the share of the variability due to differences between trials
# rather than sampling error; τ² is the between-trial variance itself, on the log-RR scale. The
# Q-profile interval shows how uncertain τ² is.

# %%
tci = re.tau2_confint()
print(f"Q = {re.q:.1f} on {re.q_df} df (p = {re.q_pvalue:.2g}); I² = {re.i2:.1f}%; "
      f"tau² = {re.tau2:.3f} (95% CI {tci.low:.3f} to {tci.high:.3f})")

# %% [markdown]
# There are several estimators of τ². DerSimonian-Laird (DL, a closed-form method of moments, RevMan's
# default) and REML (metafor's) are the most used; Paule-Mandel (PM) is recommended by several
# methodologists. metaacu implements the ones metafor offers and agrees with metafor to many digits.
# With clear heterogeneity they tell a similar story, but the estimates can differ noticeably, and
# with them the weights and the CI:

# %%
rows = []
for method in ("DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS"):
    fit = metaacu.meta_analysis(es, method=method)
    rows.append({"method": method, "tau2": fit.tau2, "RR": np.exp(fit.estimate), "ci_low": np.exp(fit.ci_low),
                 "ci_high": np.exp(fit.ci_high)})
estimators = pd.DataFrame(rows)
print(estimators.round(3).to_string(index=False))
print(f"\ntau² ranges from {estimators.tau2.min():.3f} ({estimators.method[estimators.tau2.idxmin()]}) "
      f"to {estimators.tau2.max():.3f} ({estimators.method[estimators.tau2.idxmax()]})")

# %% [markdown]
# ## 5. HKSJ and the prediction interval
#
# The Wald (z) CI treats τ² as known. The **Hartung-Knapp-Sidik-Jonkman** method (`test="knha"`)
# accounts for its uncertainty: it multiplies the variance of the pooled estimate by
# `s² = Σwᵢ(yᵢ − μ̂)²/(k − 1)` (how much the trials scatter around the estimate, relative to their
# weights) and uses a t distribution with k − 1 df. It is usually, but not always, wider than z: when
# the trials agree better than their weights imply, `s² < 1` and HKSJ can be narrower.
#
# The **prediction interval** answers a different question: where will the true effect of a *new*
# trial probably lie? It adds τ² to the uncertainty of the mean, `μ̂ ± t·√(SE² + τ²)`.

# %%
kh = metaacu.meta_analysis(es, method="REML", test="knha")
pi = kh.prediction_interval()
width = (kh.ci_high - kh.ci_low) / (re.ci_high - re.ci_low)
print(f"z:    RR {np.exp(re.ci_low):.3f} to {np.exp(re.ci_high):.3f}")
print(f"HKSJ: RR {np.exp(kh.ci_low):.3f} to {np.exp(kh.ci_high):.3f}  (s² = {kh.s2:.2f}; "
      f"{'wider' if width > 1 else 'narrower'} than z by a factor {width:.2f} on the log scale)")
print(f"95% prediction interval: RR {np.exp(pi.low):.3f} to {np.exp(pi.high):.3f} ({pi.method})")
print("the prediction interval " + ("includes" if pi.low < 0 < pi.high else "excludes") + " no effect (RR = 1)")
assert kh.ci_high < 0 and pi.high - pi.low > 2 * (kh.ci_high - kh.ci_low)  # the text below says so

# %% [markdown]
# The mean effect is clearly protective, yet the prediction interval is much wider than the CI: in a
# new setting the vaccine's effect could be much larger or much smaller — the printed line says
# whether it could even be harmful. Heterogeneity this large is a finding in itself (section 6).
#
# ### When τ² is estimated as 0
#
# Take only the randomised trials published up to the year set in the code below. Their estimates
# agree closely, and τ² is estimated as exactly 0. The random-effects model then *is* the
# common-effect model, and the prediction interval collapses onto the CI: with z it equals the CI,
# with HKSJ it equals the HKSJ CI. That does not show that the true effects are identical — with so
# few trials the data cannot tell, as the upper end of τ²'s CI shows. A prediction interval from
# τ² = 0 is therefore too optimistic.

# %%
UNTIL = 1960
early = es.subset(((trials.alloc == "random") & (trials.year <= UNTIL)).to_numpy())
early_z = metaacu.meta_analysis(early)
early_kh = metaacu.meta_analysis(early, test="knha")
ci_t2 = early_z.tau2_confint()
print(f"{early.k} randomised trials up to {UNTIL}: {', '.join(early.labels)}")
print(f"Q = {early_z.q:.2f} on {early_z.q_df} df (p = {early_z.q_pvalue:.2f}); tau² = {early_z.tau2:g} "
      f"(95% CI {ci_t2.low:g} to {ci_t2.high:.2f})")
for name, fit in (("z", early_z), ("HKSJ", early_kh)):
    p = fit.prediction_interval()
    print(f"{name:5s} CI RR {np.exp(fit.ci_low):.3f} to {np.exp(fit.ci_high):.3f}; "
          f"prediction interval RR {np.exp(p.low):.3f} to {np.exp(p.high):.3f}")
    assert fit.tau2 == 0 and np.allclose([p.low, p.high], [fit.ci_low, fit.ci_high])
assert np.isclose(early_z.estimate, metaacu.meta_analysis(early, method="EE").estimate)

# %% [markdown]
# ## 6. Subgroups and meta-regression: why do the BCG trials differ?
#
# Two study-level characteristics are candidates: how participants were allocated (`alloc`: random,
# alternate or systematic) and the latitude of the trial site (`ablat`, degrees from the equator;
# one hypothesis is that exposure to environmental mycobacteria near the equator already gives some
# protection). **Subgroup analysis** pools within each category and tests whether the subgroup means
# differ:

# %%
sub = metaacu.subgroup_analysis(es, trials["alloc"].to_numpy())
for name, g in sub.groups.items():
    print(f"{name:10s} k = {g.k:2d}  RR {np.exp(g.estimate):.3f} [{np.exp(g.ci_low):.3f}, {np.exp(g.ci_high):.3f}]  "
          f"I² = {g.i2:.0f}%")
print(f"test for subgroup differences: Q = {sub.q_between:.2f} on {sub.q_between_df} df, p = {sub.q_between_pvalue:.2f}")

# %%
metaacu.forest_plot(sub, favours=("vaccine", "control"))

# %% [markdown]
# **Meta-regression** does the same for a continuous moderator: the log risk ratio is modelled as a
# straight line in latitude, with residual heterogeneity τ² around the line. The **bubble plot** shows
# the trials (area ∝ weight) with the fitted line and its CI band. Pseudo-R² is the share of τ² that
# latitude explains.

# %%
reg = metaacu.meta_regression(es.yi, es.vi, trials[["ablat"]], labels=es.labels)
slope = reg.to_frame().set_index("term").loc["ablat"]
at = reg.predict(pd.DataFrame({"ablat": [15, 50]}))
print(f"slope: {slope.estimate:.4f} per degree (95% CI {slope.ci_low:.4f} to {slope.ci_high:.4f}; p = {slope.pvalue:.2g})")
print(f"predicted RR at 15°: {np.exp(at.pred[0]):.2f}; at 50°: {np.exp(at.pred[1]):.2f}")
print(f"residual tau² = {reg.tau2:.3f} (without latitude {re.tau2:.3f}); pseudo-R² = {reg.r2:.0f}%")
assert slope.estimate < 0 and reg.r2 > 50  # the text below says so

# %%
bubble_plot(reg, "ablat")

# %% [markdown]
# The vaccine protects more the farther the trial is from the equator, and latitude explains much of
# the heterogeneity. But this is an **observational** comparison *between* trials: latitude goes
# together with other differences (populations, strains, years), and with few trials a
# meta-regression can find spurious patterns. Moderators should be chosen before the analysis, and
# few of them.

# %% [markdown]
# ## 7. Sensitivity: does one trial drive the result?
#
# Leave-one-out refits the model without each trial in turn; if the estimate or its significance
# changes when one trial is dropped, the conclusion leans on that trial. Influence diagnostics
# (Viechtbauer & Cheung 2010) flag trials that are outlying or change the fit a lot.

# %%
loo = metaacu.leave_one_out(re)
rr = np.exp(loo.estimate)
print(f"pooled RR without each trial: {rr.min():.3f} (without {loo.labels[int(np.argmin(rr))]}) to "
      f"{rr.max():.3f} (without {loo.labels[int(np.argmax(rr))]}); all trials: {np.exp(re.estimate):.3f}")
print(f"every leave-one-out CI excludes RR = 1: {bool((loo.ci_high < 0).all())}")
infl = metaacu.influence(re)
print("influential by metafor's rule:", ", ".join(lab for lab, f in zip(re.labels, infl.is_influential) if f) or "none")

# %%
leave_one_out_plot(loo, favours=("vaccine", "control"))

# %% [markdown]
# ## 8. Small-study effects: funnel plot, Egger's test, trim-and-fill
#
# A funnel plot shows each trial's effect against its standard error (small trials at the bottom).
# Without bias and heterogeneity the points scatter symmetrically inside the funnel. Asymmetry —
# small trials with larger effects — can signal publication bias, but also real differences between
# small and large trials. The contour-enhanced version shades where a trial would be statistically
# significant: missing trials in the white (non-significant) region point to publication bias.

# %%
metaacu.funnel_plot(re, contours=True)

# %% [markdown]
# Egger's regression tests the asymmetry; trim-and-fill imputes the "missing" trials that would make
# the funnel symmetric and re-estimates (hollow points). Both have little power with few studies
# (the Cochrane Handbook advises at least 10) and both are confounded by heterogeneity, which here is
# large: read them as a sensitivity analysis, not a correction.

# %%
egger = metaacu.egger_test(re)
tf = metaacu.trim_and_fill(re)
assert re.i2 > 75  # "heterogeneity, which here is large"
print(f"Egger test ({re.k} trials): t = {egger.statistic:.2f} on {egger.df:g} df, p = {egger.pvalue:.3f}")
print(f"trim-and-fill: {tf.k0} trial(s) imputed on the {tf.side} side; RR {np.exp(tf.adjusted.estimate):.3f} "
      f"[{np.exp(tf.adjusted.ci_low):.3f}, {np.exp(tf.adjusted.ci_high):.3f}] (observed {np.exp(re.estimate):.3f})")

# %%
metaacu.funnel_plot(re, filled=(tf.filled_yi, tf.filled_vi))

# %% [markdown]
# ## 9. Pitfalls with few studies
#
# Many meta-analyses pool two to five trials. Then:
#
# 1. **τ² is barely estimable**: its CI runs from zero to large values (section 5 showed τ² = 0 with
#    a wide CI).
# 2. **Wald (z) intervals are too narrow**: they ignore the uncertainty in τ² and under-cover badly
#    (see `20_simulation_coverage`). HKSJ restores coverage, at the price of very wide intervals with
#    t(k − 1) — with two trials the t critical value is far above 1.96 — and it can be *narrower*
#    than z when the trials happen to agree (`test="adhoc"` never goes below z).
# 3. **Prediction intervals** need at least three trials and are then very wide; from τ² = 0 they
#    are falsely narrow.
# 4. **Funnel plots and Egger's test** are uninformative; metaacu warns below 10 studies.
#
# The two alternate-allocation BCG trials show points 2 and 4:

# %%
pair = es.subset((trials.alloc == "alternate").to_numpy())
for test in ("z", "knha", "adhoc"):
    fit = metaacu.meta_analysis(pair, test=test)
    crit = (fit.ci_high - fit.estimate) / fit.se
    print(f"{test:6s} k = {fit.k}: RR {np.exp(fit.estimate):.3f}, 95% CI {np.exp(fit.ci_low):.3f} to "
          f"{np.exp(fit.ci_high):.3f} (critical value {crit:.2f})")
few = metaacu.meta_analysis(es.subset(np.arange(es.k) < 4))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    metaacu.egger_test(few)
print(f"Egger test with {few.k} trials warns: {caught[0].message}")

# %% [markdown]
# ## 10. A prior on τ: the Bayesian answer with few studies
#
# With two trials the data say almost nothing about τ, so *something else must*: the Wald interval
# pretends τ² is known, HKSJ pays for not knowing it with a t(1) critical value. A Bayesian
# random-effects model instead states what is plausible for τ before seeing the data — a
# **weakly informative prior**, e.g. half-normal with scale 0.5 on the log scale, which puts most
# of its mass on "no to substantial heterogeneity" (Röver 2020, *J Stat Softw* 93(6)) — and
# averages over τ. `bayesian_meta_analysis` computes the posterior exactly, by one-dimensional
# numerical integration (no MCMC). On the two alternate-allocation trials:

# %%
from metaacu import HalfCauchy, HalfNormal, bayesian_meta_analysis
from metaacu.plots import posterior_plot

priors = {"half-normal 0.5": HalfNormal(0.5), "half-normal 1.0": HalfNormal(1.0), "half-Cauchy 0.5": HalfCauchy(0.5)}
wald, hksj = (metaacu.meta_analysis(pair, test=t) for t in ("z", "knha"))
rows = [("Wald z", wald.estimate, wald.ci_low, wald.ci_high, np.nan), ("HKSJ", hksj.estimate, hksj.ci_low, hksj.ci_high, np.nan)]
fits = {name: bayesian_meta_analysis(pair, tau_prior=prior) for name, prior in priors.items()}
for name, fit in fits.items():
    lo, hi = fit.mu.central
    rows.append((f"Bayes, tau ~ {name}", fit.mu.median, lo, hi, 1 - fit.prob("mu", lower=0.0)))
table = pd.DataFrame(rows, columns=["analysis", "log RR", "low", "high", "P(RR < 1)"])
table[["RR", "RR low", "RR high"]] = np.exp(table[["log RR", "low", "high"]])
table[["analysis", "RR", "RR low", "RR high", "P(RR < 1)"]].round(3)

# %% [markdown]
# Read the table from the top: the Wald interval is the narrowest, HKSJ's the widest by far; the
# Bayesian intervals lie between and widen as the prior allows more heterogeneity. The posterior
# probability that the vaccine works (RR < 1) is a direct answer to the question a reader asks,
# and it falls as the prior on τ widens. The plot shows what happened to τ: the data moved the
# posterior (solid) only a little away from the prior (dashed) — with two trials, **the prior on
# τ is doing much of the work, so report it and vary it**.

# %%
widths = [fit.mu.central.high - fit.mu.central.low for fit in fits.values()]
assert wald.ci_high - wald.ci_low < widths[0] < widths[1] < hksj.ci_high - hksj.ci_low
assert 1 - fits["half-normal 0.5"].prob("mu", lower=0.0) > 1 - fits["half-normal 1.0"].prob("mu", lower=0.0)
posterior_plot(fits["half-normal 0.5"])

# %% [markdown]
# Two limits connect this to what came before: a prior that forces τ to (almost) zero gives the
# common-effect answer, and a prior concentrated at the REML estimate of τ gives the random-effects
# answer. The claims audit uses the half-normal 0.5 prior and, as a sensitivity prior, half-normal
# 1.0 for every claim decided by five or fewer pooled studies (`data/claims.toml`, `[bayes]`).

# %%
near_zero = bayesian_meta_analysis(pair, tau_prior=HalfNormal(1e-6))
common = metaacu.meta_analysis(pair, method="EE")
print(f"tau ~ half-normal(1e-6): posterior mean {near_zero.mu.mean:.4f} (SD {near_zero.mu.sd:.4f}); "
      f"common effect {common.estimate:.4f} (SE {common.se:.4f})")
assert abs(near_zero.mu.mean - common.estimate) < 1e-6 and abs(near_zero.mu.sd - common.se) < 1e-6

# %% [markdown]
# ## Exercises
#
# **1.** Pool Hedges' g of the stroke trials with REML and HKSJ. Does the 95% CI include no effect?
# Is that the same conclusion as for the mean difference with HKSJ?
#
# <details><summary>Solution</summary>
#
# ```python
# for es_, unit in ((smd, ""), (md, " days")):
#     fit = metaacu.meta_analysis(es_, test="knha")
#     print(f"{es_.measure}: {fit.estimate:.2f}{unit} [{fit.ci_low:.2f}, {fit.ci_high:.2f}], "
#           f"includes 0: {fit.ci_low < 0 < fit.ci_high}")
# ```
#
# Both intervals include 0: with this much heterogeneity the average effect is uncertain, on either
# scale. Standardising changes the weights (they no longer depend on the SDs in the same way), so the
# two analyses need not agree exactly.
#
# </details>
#
# **2.** Draw a forest plot of the Mantel-Haenszel risk ratio of the BCG trials
# (`metaacu.mantel_haenszel`). Why are its weights so different from the random-effects weights?
#
# <details><summary>Solution</summary>
#
# ```python
# mh = metaacu.mantel_haenszel(trials.tpos, trials.n1, trials.cpos, trials.n2, measure="RR",
#                              labels=trials.trial)
# print(mh.summary())
# metaacu.forest_plot(mh, favours=("vaccine", "control"))
# ```
#
# Mantel-Haenszel is a common-effect method: its weights grow with the size of each table, so the
# largest trials dominate, as in the common-effect model of section 3. The random-effects weights
# add τ² to every variance and are much more even.
#
# </details>
#
# **3.** Does the year of publication explain heterogeneity as well as latitude does? Fit a
# meta-regression on `year` and compare pseudo-R² and residual τ².
#
# <details><summary>Solution</summary>
#
# ```python
# by_year = metaacu.meta_regression(es.yi, es.vi, trials[["year"]], labels=es.labels)
# print(f"year: pseudo-R² {by_year.r2:.0f}%, residual tau² {by_year.tau2:.3f}")
# print(f"latitude: pseudo-R² {reg.r2:.0f}%, residual tau² {reg.tau2:.3f}")
# both = metaacu.meta_regression(es.yi, es.vi, trials[["ablat", "year"]], labels=es.labels)
# print(both.summary())
# ```
#
# Year explains less than latitude. Year and latitude are correlated across these trials (later
# trials were run closer to the equator), which is exactly why such between-trial associations are
# hard to interpret.
#
# </details>
