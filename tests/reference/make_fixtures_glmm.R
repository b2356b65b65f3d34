# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_glmm.R`
#
# Writes, next to this script,
#   metafor_glmm.json  exact-likelihood (generalised linear mixed) models of metafor's rma.glmm
#                      (tracker issue 14, item 1): the binomial-normal model with fixed study effects
#                      (model = "UM.FS", measure = "OR"), the conditional hypergeometric-normal model
#                      ("CM.EL", "OR"), its binomial approximation ("CM.AL", "OR"), and for incidence
#                      rate ratios the Poisson-normal model ("UM.FS", "IRR") and the exact conditional
#                      binomial-normal model ("CM.EL", "IRR"); each with method = "ML" (random effects)
#                      and, for a few, method = "EE" (common effect).
# Needs R with metafor (arbiter; 3.8-1 when this file was made), lme4 (1.1-31), BiasedUrn (for CM.EL,
# Debian r-cran-biasedurn), metadat and jsonlite.  Numbers are written with 17 significant digits
# ("%.17g"); NA -> null.  The file carries no date: regenerating with the same versions gives
# byte-identical output.
#
# Settings (recorded in the JSON, "settings"):
#   * lme4 fits (UM.FS, CM.AL, CM.EL for IRR): glmerCtrl = list(optimizer = "bobyqa",
#     optCtrl = list(rhoend = 1e-11, maxfun = 1e6), tolPwrss = 1e-12) -- bobyqa to a final trust
#     radius of 1e-11 and the penalised IRLS for the conditional modes to 1e-12 (1e-13 fails to converge
#     on dat.collins1985b) (lme4's defaults,
#     rhoend = 2e-7 and tolPwrss = 1e-7, stop about 1e-4 short on these data), at nAGQ = 7 (metafor's
#     default), 15 and 25 adaptive Gauss-Hermite nodes.  lme4's standard errors come from its own
#     finite-difference Hessian (step 1e-4), good to about 1e-6 relative.
#   * CM.EL for OR (metafor's own likelihood: BiasedUrn's dFNCHypergeo, precision 1e-10, integrated
#     over the random effect with integrate()): optimizer nlminb (its default rel.tol = 1e-10; tighter fails with "false convergence"), the integral to
#     rel.tol = 1e-10 (default eps^0.25 = 1.2e-4), the Hessian by numDeriv (Richardson, r = 16).
#   * Double-zero studies (no events in either arm, or events in every participant of both arms):
#     metafor drops them (drop00 = TRUE, its default); they carry no information under these models
#     (fixed study effects or conditioning on the events), and metaacu drops them with a warning
#     naming them.
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."

source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch

glmer_ctrl <- list(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-11, maxfun = 1e6), tolPwrss = 1e-12)
cmel_ctrl <- list(optimizer = "nlminb", optCtrl = list(eval.max = 1e4, iter.max = 1e4),
                  intCtrl = list(rel.tol = 1e-10, subdivisions = 1000L))

# ------------------------------------------------------------------------------ datasets
set.seed(20261202)
sim_binary <- function(k, p_ctrl, log_or, tau) {
  n1 <- sample(30:120, k, replace = TRUE)
  n2 <- sample(30:120, k, replace = TRUE)
  theta <- rnorm(k, log_or, tau)
  p2 <- p_ctrl
  p1 <- plogis(qlogis(p2) + theta)
  data.frame(ai = rbinom(k, n1, p1), n1i = n1, ci = rbinom(k, n2, p2), n2i = n2)
}
sparse <- sim_binary(10, 0.03, -0.5, 0.4)
sparse$ai[3] <- 0L; sparse$ci[3] <- 0L      # one double-zero study for certain
sparse$ai[5] <- 0L                          # single-zero studies
sparse$ci[7] <- 0L
sim_rates <- function(k) {
  t1 <- round(runif(k, 200, 2000)); t2 <- round(runif(k, 200, 2000))
  data.frame(x1i = rpois(k, t1 * 0.004 * exp(rnorm(k, -0.3, 0.3))), t1i = t1,
             x2i = rpois(k, t2 * 0.004), t2i = t2)
}
sparse_het <- sim_binary(12, 0.06, -0.3, 1.0)
sparse_het$ai[2] <- 0L; sparse_het$ci[2] <- 0L      # double zero
sparse_het$ai[6] <- 0L
sparse_irr <- sim_rates(9)
sparse_irr$x1i[2] <- 0L; sparse_irr$x2i[2] <- 0L
sparse_irr$x1i[4] <- 0L
# very heterogeneous rates with many zero cells (tau^2 ~ 10; from metaacu's robustness sweep, where a
# plain Newton search for the conditional modes cycled)
wild_irr <- data.frame(x1i = c(0, 0, 0, 10, 0, 2, 12, 0, 239, 51, 0, 0, 1, 1, 205),
                       t1i = c(256, 1645, 717, 3260, 2110, 2799, 297, 3395, 4025, 1341, 2427, 953, 612, 1330, 2078),
                       x2i = c(1, 6, 2, 6, 17, 2, 14, 4, 27, 11, 10, 14, 19, 17, 12),
                       t2i = c(453, 1882, 370, 1869, 3077, 1369, 4251, 1277, 4918, 3825, 2165, 3251, 3634, 4250, 3302))

d <- dat.collins1985b
collins <- data.frame(ai = d$pre.xti, n1i = d$pre.nti, ci = d$pre.xci, n2i = d$pre.nci)
d <- dat.nielweise2007
nielweise2007 <- data.frame(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
d <- dat.yusuf1985[dat.yusuf1985$table == "6" & !is.na(dat.yusuf1985$ai), ]
yusuf6 <- data.frame(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
d <- dat.nielweise2008
nielweise2008 <- data.frame(x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i)

binary_sets <- list(collins1985b = collins, nielweise2007 = nielweise2007, yusuf1985_table6 = yusuf6,
                    sparse_binary = sparse, sparse_heterogeneous = sparse_het)
rate_sets <- list(nielweise2008 = nielweise2008, sparse_rates = sparse_irr, heterogeneous_rates = wild_irr)

# ------------------------------------------------------------------------------ fits
record <- function(res) {
  if (inherits(res$value, "fit_error")) return(list(error = res$value$msg, warnings = res$warnings))
  r <- res$value
  list(k = r$k, beta = nums(r$beta[1]), se = nums(r$se[1]), zval = nums(r$zval[1]), pval = nums(r$pval[1]),
       ci_lb = nums(r$ci.lb[1]), ci_ub = nums(r$ci.ub[1]), tau2 = nums(r$tau2), se_tau2 = nums(r$se.tau2),
       I2 = nums(r$I2), H2 = nums(r$H2),
       QE_Wld = nums(r$QE.Wld), QEp_Wld = nums(r$QEp.Wld), QE_LRT = nums(r$QE.LRT), QEp_LRT = nums(r$QEp.LRT),
       QE_df = nums(r$QE.df), logLik = nums(r$fit.stats["ll", "ML"]), deviance = nums(r$fit.stats["dev", "ML"]),
       AIC = nums(r$fit.stats["AIC", "ML"]), BIC = nums(r$fit.stats["BIC", "ML"]),
       AICc = nums(r$fit.stats["AICc", "ML"]), warnings = res$warnings)
}
cases <- list()
# lme4's own log-likelihood of the same glmer fit (refitted from the data metafor builds, retdat = TRUE):
# lme4 reports the marginal log-likelihood relative to the saturated model's, while metafor prints
# ll.QE - deviance/2 (the conditional log-likelihood at the conditional modes).
lme4_loglik <- function(data, measure, model, nagq) {
  args <- c(as.list(data), list(measure = measure, model = model, retdat = TRUE))
  dd <- do.call(rma.glmm, args)
  ctrl <- do.call(lme4::glmerControl, glmer_ctrl)
  fit <- if (model == "UM.FS") {
    with(dd, lme4::glmer(dat.grp ~ -1 + X.fit + study + (group - 1 | study), offset = dat.off, family = dat.fam,
                         nAGQ = nagq, control = ctrl))
  } else {
    with(dd, lme4::glmer(dat.grp ~ -1 + X.fit + (1 | study), offset = dat.off, family = binomial,
                         nAGQ = nagq, control = ctrl))
  }
  nums(logLik(fit))
}
# An independent Wald-type heterogeneity statistic of the CM.EL model for OR: each study's conditional
# MLE of the log odds ratio (optimize() on BiasedUrn's density at precision 1e-14) and its exact
# variance 1/Var(U), Q = sum w (y - ybar_w)^2; studies with a zero cell (estimate on the boundary)
# weigh 0.  metafor's own QE.Wld comes from a numerical Hessian of the saturated model and is
# less accurate (0.6% on dat.collins1985b).
cmel_wald <- function(data) {
  with(data, {
    y <- w <- numeric(length(ai))
    for (i in seq_along(ai)) {
      if (ai[i] == 0 || ci[i] == 0 || ai[i] == n1i[i] || ci[i] == n2i[i]) next
      tot <- ai[i] + ci[i]
      f <- function(t) -log(BiasedUrn::dFNCHypergeo(ai[i], n1i[i], n2i[i], tot, exp(t), precision = 1e-14))
      y[i] <- optimize(f, c(-15, 15), tol = 1e-12)$minimum
      u <- max(0, tot - n2i[i]):min(tot, n1i[i])
      p <- BiasedUrn::dFNCHypergeo(u, n1i[i], n2i[i], tot, exp(y[i]), precision = 1e-14)
      w[i] <- sum(p * u^2) - sum(p * u)^2  # the information: 1/var(y)
    }
    nums(sum(w * (y - sum(w * y) / sum(w))^2))
  })
}
add_case <- function(name, data, measure, model, method, nagq, fit) {
  cat(name, "\n")
  extra <- list()
  if (measure == "OR" && model == "CM.EL") extra$QE_Wld_exact <- cmel_wald(data)
  if (method == "ML" && !is.null(nagq) && !inherits(fit$value, "fit_error"))
    extra$lme4_logLik <- suppressWarnings(lme4_loglik(data, measure, model, nagq))
  cases[[name]] <<- c(list(data = lapply(as.list(data), as.numeric), measure = measure, model = model,
                           method = method, nAGQ = nagq), record(fit), extra)
}
for (nm in names(binary_sets)) {
  dd <- binary_sets[[nm]]
  for (model in c("UM.FS", "CM.AL")) {
    for (nagq in c(7L, 15L, 25L)) {
      add_case(paste(nm, model, "ML", nagq, sep = "/"), dd, "OR", model, "ML", nagq,
               catch(rma.glmm(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dd, model = model,
                              method = "ML", nAGQ = nagq, control = list(glmerCtrl = glmer_ctrl))))
    }
    add_case(paste(nm, model, "EE", sep = "/"), dd, "OR", model, "EE", NULL,
             catch(rma.glmm(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dd, model = model,
                            method = "EE")))
  }
  add_case(paste(nm, "CM.EL", "ML", sep = "/"), dd, "OR", "CM.EL", "ML", NULL,
           catch(rma.glmm(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dd, model = "CM.EL",
                          method = "ML", control = cmel_ctrl)))
  add_case(paste(nm, "CM.EL", "EE", sep = "/"), dd, "OR", "CM.EL", "EE", NULL,
           catch(rma.glmm(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dd, model = "CM.EL",
                          method = "EE", control = cmel_ctrl)))
}
for (nm in names(rate_sets)) {
  dd <- rate_sets[[nm]]
  for (model in c("UM.FS", "CM.EL")) {
    for (nagq in c(7L, 15L, 25L)) {
      add_case(paste(nm, model, "ML", nagq, sep = "/"), dd, "IRR", model, "ML", nagq,
               catch(rma.glmm(measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = dd,
                              model = model, method = "ML", nAGQ = nagq, control = list(glmerCtrl = glmer_ctrl))))
    }
    add_case(paste(nm, model, "EE", sep = "/"), dd, "IRR", model, "EE", NULL,
             catch(rma.glmm(measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = dd,
                            model = model, method = "EE")))
  }
}

write_json_file(list(
  generator = "tests/reference/make_fixtures_glmm.R",
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  lme4 = as.character(packageVersion("lme4")),
  BiasedUrn = as.character(packageVersion("BiasedUrn")),
  settings = list(glmerCtrl = list(optimizer = "bobyqa", rhoend = nums(1e-11), maxfun = nums(1e6),
                                   tolPwrss = nums(1e-12)),
                  CM.EL = list(optimizer = "nlminb", rel.tol = nums(1e-10), integrate_rel.tol = nums(1e-10),
                               dnchgprec = nums(1e-10)),
                  drop00 = TRUE),
  cases = cases
), file.path(out_dir, "metafor_glmm.json"))
