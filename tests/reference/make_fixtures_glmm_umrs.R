# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_glmm_umrs.R`
#
# Writes, next to this script,
#   metafor_glmm_umrs.json  metafor's rma.glmm(measure = "OR", model = "UM.RS") (tracker issue 14,
#                   item 1): the binomial-normal model with random study effects, fitted by lme4::glmer on the long
#                   format (two rows per study) as
#                     cbind(xi, mi) ~ -1 + group1 + const + (group12 || study)
#                   (two uncorrelated random effects per study: the intercept, variance sigma2, and the
#                   +-1/2-coded treatment effect, variance tau2; metafor forces nAGQ = 1, the Laplace
#                   approximation, for method = "ML"), its common-effect fit
#                     cbind(xi, mi) ~ -1 + group1 + const + (1 | study)
#                   (method = "EE", at the nAGQ given, default 7) and the saturated fit (the same with
#                   study:group1, one log odds ratio per study) for the Wald-type and likelihood-ratio
#                   heterogeneity tests.  method = "ML" and "EE" (nAGQ 7 and 1).
# Needs R with metafor (3.8-1 when this file was made), lme4 (1.1-31), metadat and jsonlite.  Numbers are
# written with 17 significant digits ("%.17g"); NA -> null.  The file carries no date: regenerating with
# the same versions gives byte-identical output.
#
# Settings (recorded in the JSON, "settings"): glmerCtrl = list(optimizer = "bobyqa",
# optCtrl = list(rhoend = 1e-11, maxfun = 1e6), tolPwrss = 1e-12), as make_fixtures_glmm.R.  lme4's
# standard errors come from its finite-difference Hessian of the deviance in (theta, beta) (vcov with
# use.hessian = TRUE, lme4's default), i.e. the inverse observed information of all parameters.
# Double-zero studies are dropped by metafor (drop00 = TRUE).
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."

source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch

glmer_ctrl <- list(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-11, maxfun = 1e6), tolPwrss = 1e-12)

# ------------------------------------------------------------------------------ datasets
set.seed(20261203)
sim_binary <- function(k, p_ctrl, log_or, tau, sigma) {
  n1 <- sample(30:150, k, replace = TRUE)
  n2 <- sample(30:150, k, replace = TRUE)
  base <- qlogis(p_ctrl) + rnorm(k, 0, sigma)
  theta <- rnorm(k, log_or, tau)
  data.frame(ai = rbinom(k, n1, plogis(base + theta)), n1i = n1, ci = rbinom(k, n2, plogis(base)), n2i = n2)
}
sparse <- sim_binary(10, 0.05, -0.5, 0.3, 0.8)
sparse$ai[2] <- 0L; sparse$ci[2] <- 0L      # a double-zero study (dropped)
sparse$ai[4] <- 0L                          # a zero cell in group 1
sparse$ci[7] <- 0L                          # a zero cell in group 2
sparse_het <- sim_binary(14, 0.08, -0.3, 0.9, 1.2)
sparse_het$ci[3] <- 0L
sparse_het$ci[9] <- 0L
sparse_het$ai[11] <- 0L

d <- dat.collins1985b
collins <- data.frame(ai = d$pre.xti, n1i = d$pre.nti, ci = d$pre.xci, n2i = d$pre.nci)
d <- dat.nielweise2007
nielweise2007 <- data.frame(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
d <- dat.yusuf1985[dat.yusuf1985$table == "6" & !is.na(dat.yusuf1985$ai), ]
yusuf6 <- data.frame(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i)
d <- dat.bcg
bcg <- data.frame(ai = d$tpos, n1i = d$tpos + d$tneg, ci = d$cpos, n2i = d$cpos + d$cneg)

binary_sets <- list(collins1985b = collins, nielweise2007 = nielweise2007, yusuf1985_table6 = yusuf6,
                    bcg = bcg, sparse_binary = sparse, sparse_heterogeneous = sparse_het)

# ------------------------------------------------------------------------------ fits
record <- function(res) {
  if (inherits(res$value, "fit_error")) return(list(error = res$value$msg, warnings = res$warnings))
  r <- res$value
  list(k = r$k, beta = nums(r$beta[1]), se = nums(r$se[1]), zval = nums(r$zval[1]), pval = nums(r$pval[1]),
       ci_lb = nums(r$ci.lb[1]), ci_ub = nums(r$ci.ub[1]), tau2 = nums(r$tau2), sigma2 = nums(r$sigma2),
       I2 = nums(r$I2), H2 = nums(r$H2),
       QE_Wld = nums(r$QE.Wld), QEp_Wld = nums(r$QEp.Wld), QE_LRT = nums(r$QE.LRT), QEp_LRT = nums(r$QEp.LRT),
       QE_df = nums(r$QE.df), logLik = nums(r$fit.stats["ll", "ML"]), deviance = nums(r$fit.stats["dev", "ML"]),
       AIC = nums(r$fit.stats["AIC", "ML"]), BIC = nums(r$fit.stats["BIC", "ML"]),
       AICc = nums(r$fit.stats["AICc", "ML"]), parms = r$parms, warnings = res$warnings)
}
cases <- list()
add_case <- function(name, data, method, nagq) {
  cat(name, "\n")
  fit <- catch(rma.glmm(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = data, model = "UM.RS",
                        method = method, nAGQ = nagq, control = list(glmerCtrl = glmer_ctrl)))
  cases[[name]] <<- c(list(data = lapply(as.list(data), as.numeric), measure = "OR", model = "UM.RS",
                           method = method, nAGQ = if (method == "ML") 1L else nagq), record(fit))
}
for (nm in names(binary_sets)) {
  dd <- binary_sets[[nm]]
  add_case(paste(nm, "UM.RS", "ML", sep = "/"), dd, "ML", 1L)
  add_case(paste(nm, "UM.RS", "EE", 7L, sep = "/"), dd, "EE", 7L)
  add_case(paste(nm, "UM.RS", "EE", 1L, sep = "/"), dd, "EE", 1L)
}

# lme4's own deviance function (glmer(devFunOnly = TRUE)) at fixed parameter points, to check the
# likelihoods themselves: pars = (sigma, [tau,] beta, gamma) in lme4's order (theta, then the fixed
# effects X.fit = group1 and const); -2 log L for nAGQ = 1 (Laplace: the whole binomial likelihood),
# relative to each arm's own proportion for nAGQ > 1 (deviance residuals).
devfun_points <- function(data) {
  dd <- rma.glmm(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = data, model = "UM.RS",
                 method = "EE", retdat = TRUE)
  ctrl <- do.call(lme4::glmerControl, glmer_ctrl)
  one <- rbind(c(1.1, -0.4, -1.8), c(0.6, 0.2, -2.5), c(1.7, -1.0, -1.2))
  two <- rbind(c(1.1, 0.5, -0.4, -1.8), c(0.6, 1.3, 0.2, -2.5), c(1.7, 0.2, -1.0, -1.2))
  out <- list()
  for (q in c(1L, 7L)) {
    df <- with(dd, lme4::glmer(dat.grp ~ -1 + X.fit + const + (1 | study), family = dat.fam, nAGQ = q,
                               control = ctrl, devFunOnly = TRUE))
    out[[paste0("common_nAGQ", q)]] <- list(pars = lapply(seq_len(nrow(one)), function(i) numv(one[i, ])),
                                            deviance = numv(apply(one, 1, df)))
  }
  df <- with(dd, lme4::glmer(dat.grp ~ -1 + X.fit + const + (group || study), family = dat.fam, nAGQ = 1L,
                             control = ctrl, devFunOnly = TRUE))
  out$random_nAGQ1 <- list(pars = lapply(seq_len(nrow(two)), function(i) numv(two[i, ])),
                           deviance = numv(apply(two, 1, df)))
  c(list(data = lapply(as.list(data), as.numeric)), out)
}
devfun <- list(collins1985b = devfun_points(collins), sparse_heterogeneous = devfun_points(sparse_het))

write_json_file(list(
  generator = "tests/reference/make_fixtures_glmm_umrs.R",
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  lme4 = as.character(packageVersion("lme4")),
  settings = list(glmerCtrl = list(optimizer = "bobyqa", rhoend = nums(1e-11), maxfun = nums(1e6),
                                   tolPwrss = nums(1e-12)),
                  drop00 = TRUE),
  cases = cases,
  devfun = devfun
), file.path(out_dir, "metafor_glmm_umrs.json"))
