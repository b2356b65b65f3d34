# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_glmm_umrs_more.R`
#
# Writes, next to this script,
#   metafor_glmm_umrs_more.json  metafor's rma.glmm(model = "UM.RS") (tracker issue 14, item 1) beyond
#                   make_fixtures_glmm_umrs.R (a separate script so metafor_glmm_umrs.json stays
#                   byte-identical):
#                   (a) with moderators, measure = "OR": lme4::glmer on the long format (two rows per
#                       study) with X.fit = group1 * X (the moderators' rows multiplied by the group-1
#                       dummy) as
#                         cbind(xi, mi) ~ -1 + X.fit + const + (group12 || study)        (ML, nAGQ = 1)
#                         cbind(xi, mi) ~ -1 + X.fit + const + (1 | study)               (EE / common)
#                       and the saturated fit ~ -1 + X.fit + const + study:group1 (aliased columns
#                       removed by a glm first) + (1 | study) for the Wald-type and LRT tests on k - p df;
#                   (b) measure = "IRR": the same with the Poisson family, the counts x1i, x2i and the
#                       offset log(t1i), log(t2i), intercept-only and with a moderator.
#                   method = "ML" (nAGQ forced to 1 by metafor) and "EE" (nAGQ 7 and 1).
# Needs R with metafor (3.8-1 when this file was made), lme4 (1.1-31), metadat and jsonlite.  Numbers are
# written with 17 significant digits ("%.17g"); NA -> null.  The file carries no date: regenerating with
# the same versions gives byte-identical output.
#
# Settings (recorded in the JSON, "settings"): glmerCtrl as make_fixtures_glmm_umrs.R (bobyqa,
# rhoend = 1e-11, maxfun = 1e6, tolPwrss = 1e-12); double-zero studies dropped (drop00 = TRUE).
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
set.seed(20261204)
sim_binary <- function(k, p_ctrl, log_or, slope, tau, sigma) {
  n1 <- sample(30:150, k, replace = TRUE)
  n2 <- sample(30:150, k, replace = TRUE)
  x <- round(runif(k, -1, 1), 2)
  base <- qlogis(p_ctrl) + rnorm(k, 0, sigma)
  theta <- rnorm(k, log_or + slope * x, tau)
  data.frame(ai = rbinom(k, n1, plogis(base + theta)), n1i = n1, ci = rbinom(k, n2, plogis(base)), n2i = n2,
             x = x)
}
sim_counts <- function(k, rate, log_irr, slope, tau, sigma) {
  t1 <- round(runif(k, 50, 400), 1)
  t2 <- round(runif(k, 50, 400), 1)
  x <- round(runif(k, -1, 1), 2)
  base <- log(rate) + rnorm(k, 0, sigma)
  theta <- rnorm(k, log_irr + slope * x, tau)
  data.frame(x1i = rpois(k, t1 * exp(base + theta)), t1i = t1, x2i = rpois(k, t2 * exp(base)), t2i = t2, x = x)
}
sparse <- sim_binary(12, 0.06, -0.4, 0.8, 0.3, 0.9)
sparse$ai[3] <- 0L; sparse$ci[3] <- 0L      # a double-zero study (dropped)
sparse$ai[5] <- 0L                          # a zero cell in group 1
sparse$ci[8] <- 0L                          # a zero cell in group 2
sparse_het <- sim_binary(15, 0.1, -0.3, -1.0, 0.8, 1.0)
sparse_het$ci[4] <- 0L
counts <- sim_counts(11, 0.02, -0.4, 0, 0.5, 1.0)
counts$x1i[2] <- 0L; counts$x2i[2] <- 0L    # a double-zero study (dropped)
counts$x1i[6] <- 0L                         # no events in group 1 (saturated rate ratio diverges)
counts$x2i[9] <- 0L                         # no events in group 2
counts_mod <- sim_counts(14, 0.03, -0.3, 0.9, 0.4, 0.8)

d <- dat.bcg
bcg <- data.frame(ai = d$tpos, n1i = d$tpos + d$tneg, ci = d$cpos, n2i = d$cpos + d$cneg, ablat = d$ablat,
                  alloc = d$alloc)
d <- dat.nielweise2008
nielweise2008 <- data.frame(x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i)
d <- dat.hart1999
hart1999 <- data.frame(x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i,
                       secondary = as.numeric(d$prevtype == "secondary"))

# ------------------------------------------------------------------------------ fits
record <- function(res) {
  if (inherits(res$value, "fit_error")) return(list(error = res$value$msg, warnings = res$warnings))
  r <- res$value
  list(k = r$k, p = r$p, coef_names = rownames(r$beta), beta = numv(r$beta), se = numv(r$se),
       vb = lapply(seq_len(nrow(r$vb)), function(i) numv(r$vb[i, ])), zval = numv(r$zval),
       pval = numv(r$pval), ci_lb = numv(r$ci.lb), ci_ub = numv(r$ci.ub),
       QM = nums(r$QM), QMp = nums(r$QMp), QMdf = r$QMdf[1],
       tau2 = nums(r$tau2), sigma2 = nums(r$sigma2), I2 = nums(r$I2), H2 = nums(r$H2),
       QE_Wld = nums(r$QE.Wld), QEp_Wld = nums(r$QEp.Wld), QE_LRT = nums(r$QE.LRT), QEp_LRT = nums(r$QEp.LRT),
       QE_df = nums(r$QE.df), logLik = nums(r$fit.stats["ll", "ML"]), deviance = nums(r$fit.stats["dev", "ML"]),
       AIC = nums(r$fit.stats["AIC", "ML"]), BIC = nums(r$fit.stats["BIC", "ML"]),
       AICc = nums(r$fit.stats["AICc", "ML"]), parms = r$parms, warnings = res$warnings)
}
cases <- list()
fit_one <- function(data, measure, mods, method, nagq, ctrl) {
  args <- list(measure = measure, data = data, model = "UM.RS", method = method, nAGQ = nagq,
               control = list(glmerCtrl = ctrl))
  if (!is.null(mods)) args$mods <- as.formula(mods)
  if (measure == "OR") {
    args <- c(args, list(ai = quote(ai), n1i = quote(n1i), ci = quote(ci), n2i = quote(n2i)))
  } else {
    args <- c(args, list(x1i = quote(x1i), t1i = quote(t1i), x2i = quote(x2i), t2i = quote(t2i)))
  }
  catch(do.call(rma.glmm, args))
}
# glmer's PIRLS tolerance: 1e-12 as make_fixtures_glmm_umrs.R; where a fit (or its saturated fit) fails
# there (dat.bcg's large counts: "PIRLS step-halvings failed"), the first of 1e-11, 1e-10 that works
# (recorded as "tolPwrss"); for every case the Wald-type QE and the standard errors are also recorded at
# tolPwrss 1e-11 .. 1e-8 ("QE_Wld_tolPwrss", "se_tolPwrss"), the evidence of how far lme4's
# finite-difference Hessian (or its fallback to RX) moves them.
add_case <- function(name, data, measure, mods, method, nagq) {
  cat(name, "\n")
  for (tp in c(1e-12, 1e-11, 1e-10)) {
    ctrl <- modifyList(glmer_ctrl, list(tolPwrss = tp))
    fit <- fit_one(data, measure, mods, method, nagq, ctrl)
    if (!inherits(fit$value, "fit_error") && !is.na(fit$value$QE.Wld)) break
  }
  others <- lapply(c(1e-11, 1e-10, 1e-9, 1e-8), function(t) {
    fit_one(data, measure, mods, method, nagq, modifyList(glmer_ctrl, list(tolPwrss = t)))$value
  })
  spread <- vapply(others, function(f) if (inherits(f, "fit_error")) NA_real_ else as.numeric(f$QE.Wld), 0)
  se_spread <- lapply(others, function(f) if (inherits(f, "fit_error")) NULL else numv(f$se))
  cols <- lapply(as.list(data), function(v) if (is.numeric(v)) as.numeric(v) else as.character(v))
  cases[[name]] <<- c(list(data = cols, measure = measure, mods = mods, model = "UM.RS", method = method,
                           nAGQ = if (method == "ML") 1L else nagq, tolPwrss = nums(tp),
                           QE_Wld_tolPwrss = numv(spread), se_tolPwrss = se_spread),
                      record(fit))
}
grid <- list(
  list("bcg/ablat", bcg, "OR", "~ ablat"),
  list("bcg/alloc", bcg, "OR", "~ factor(alloc)"),
  list("sparse_binary/x", sparse, "OR", "~ x"),
  list("sparse_heterogeneous/x", sparse_het, "OR", "~ x"),
  list("nielweise2008", nielweise2008, "IRR", NULL),
  list("hart1999", hart1999, "IRR", NULL),
  list("hart1999/secondary", hart1999, "IRR", "~ secondary"),
  list("sparse_counts", counts, "IRR", NULL),
  list("counts/x", counts_mod, "IRR", "~ x")
)
for (g in grid) {
  add_case(paste(g[[1]], "UM.RS", "ML", sep = "/"), g[[2]], g[[3]], g[[4]], "ML", 1L)
  add_case(paste(g[[1]], "UM.RS", "EE", 7L, sep = "/"), g[[2]], g[[3]], g[[4]], "EE", 7L)
  add_case(paste(g[[1]], "UM.RS", "EE", 1L, sep = "/"), g[[2]], g[[3]], g[[4]], "EE", 1L)
}

write_json_file(list(
  generator = "tests/reference/make_fixtures_glmm_umrs_more.R",
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  lme4 = as.character(packageVersion("lme4")),
  settings = list(glmerCtrl = list(optimizer = "bobyqa", rhoend = nums(1e-11), maxfun = nums(1e6),
                                   tolPwrss = nums(1e-12)),
                  drop00 = TRUE),
  cases = cases
), file.path(out_dir, "metafor_glmm_umrs_more.json"))
