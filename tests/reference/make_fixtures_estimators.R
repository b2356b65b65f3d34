# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_estimators.R`
#
# Writes, next to this script,
#   metafor_estimators.json  the further tau2 estimators and options of rma.uni (tracker issue 14, item 4):
#                            method = "PMM", "HSk", "SJIT", "DLIT", "GENQ" (weights = ...), user weights
#                            for the pooled estimate (weights = ...) under several methods and tests, a
#                            tau2 fixed by the user (tau2 = ...), the aliases "FE"/"CE", hc()
#                            (Henmi and Copas 2010), and PMM/HSk/SJIT/DLIT meta-regressions of dat.bcg.
# Needs R with metafor (arbiter; 3.8-1 when this file was made), metadat and jsonlite.  Numbers are
# written with 17 significant digits ("%.17g"); NA -> null.  The file carries no date: regenerating
# with the same R/metafor versions gives byte-identical output.
#
# DLIT: metafor 3.8-1 iterates tau2 <- (Q_w - (k - p)) / tr(P), whose fixed point is not the
# Paule-Mandel root its comment promises; metafor 4.5-7 (commit 83c02765, 2024-01-12) changed the
# update to (Q_w - tr(PV)) / tr(P), whose fixed point is the PM root.  metaacu follows the current
# release.  This script stores metafor 3.8-1's value (dlit_metafor381, for the record) and, as the
# reference, the current update written out below with R's matrices (dlit_current; the same
# formula as metafor >= 4.5-7 rma.uni.r, iterated from 0 to |change| <= 1e-14 max(1, tau2), truncated at 0).
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."

# ------------------------------------------------------------------------------ JSON helpers
source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch

# ------------------------------------------------------------------------------ datasets
datasets <- list()
add_ds <- function(name, description, yi, vi, a) {
  datasets[[length(datasets) + 1L]] <<- list(name = name, description = description,
                                             yi = as.numeric(yi), vi = as.numeric(vi), a = as.numeric(a))
}
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_ds("bcg", "dat.bcg, log risk ratios; user weights = total sample size",
       bcg$yi, bcg$vi, with(dat.bcg, tpos + tneg + cpos + cneg))
nrm <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = dat.normand1999)
add_ds("normand1999_md", "dat.normand1999, mean differences (days); user weights = n1i + n2i",
       nrm$yi, nrm$vi, with(dat.normand1999, n1i + n2i))
lee <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.lee2004)
add_ds("lee2004", "dat.lee2004 (Henmi and Copas 2010 example), log odds ratios; user weights = n1i + n2i",
       lee$yi, lee$vi, with(dat.lee2004, n1i + n2i))
set.seed(20260102)
sim <- function(k, tau2, vlo = 0.02, vhi = 0.3) {
  v <- runif(k, vlo, vhi)
  list(yi = rnorm(k, 0.3, sqrt(v + tau2)), vi = v, a = round(runif(k, 20, 200)))
}
s <- sim(8, 0.15); add_ds("sim_k8", "simulated, k = 8, tau2 = 0.15", s$yi, s$vi, s$a)
s <- sim(25, 0.05); add_ds("sim_k25", "simulated, k = 25, tau2 = 0.05", s$yi, s$vi, s$a)
s <- sim(2, 0.3); add_ds("sim_k2", "simulated, k = 2, tau2 = 0.3", s$yi, s$vi, s$a)
add_ds("boundary_k6", "hand-made, k = 6: Q(0) = 1.37 < k - 1, every estimator at tau2 = 0",
       c(0.21, 0.25, 0.19, 0.30, 0.22, 0.27), c(0.02, 0.03, 0.025, 0.04, 0.02, 0.05), c(40, 60, 50, 80, 40, 100))
# Q(0) just below k - 1: SJIT decreases to 0 geometrically with ratio Q(0)/(k - 1) ~ 0.9993 and does
# not converge in 10000 iterations (metafor stops with an error); PM, PMM are 0 or near it.
y0 <- c(-0.5, -0.25, 0, 0.25, 0.5)
v0 <- rep(sum((y0 - mean(y0))^2) / (4 * 0.9993), 5)
add_ds("sjit_slow_k5", "hand-made, k = 5, equal vi with Q(0) = 0.9993 (k - 1): SJIT converges to 0 too slowly",
       y0, v0, c(1, 2, 3, 4, 5))

# ------------------------------------------------------------------------------ fits
tight <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

fit_block <- function(args) {
  r <- catch(do.call(rma.uni, c(args, list(control = tight))))
  f <- r$value
  if (inherits(f, "fit_error")) return(list(error = f$msg, warnings = r$warnings))
  list(error = NULL, warnings = r$warnings,
       estimate = nums(f$beta[1]), se = nums(f$se[1]), ci_lb = nums(f$ci.lb[1]), ci_ub = nums(f$ci.ub[1]),
       zval = nums(f$zval[1]), pval = nums(f$pval[1]), tau2 = nums(f$tau2), QE = nums(f$QE),
       I2 = nums(f$I2), H2 = nums(f$H2), s2w = nums(f$s2w), se_tau2 = nums(f$se.tau2),
       iterations = nums(if (is.null(f$iter)) NA else f$iter),
       weights = numv(weights(f)))
}

dlit_current <- function(yi, vi) {
  tau2 <- 0
  for (i in 1:100000) {
    w <- 1 / (vi + tau2)
    P <- diag(w) - outer(w, w) / sum(w)
    new <- max(0, (c(t(yi) %*% P %*% yi) - sum(diag(P %*% diag(vi)))) / sum(diag(P)))
    if (abs(new - tau2) <= 1e-14 * max(1, new)) return(list(tau2 = new, iterations = i))
    tau2 <- new
  }
  list(tau2 = NA, iterations = NA)
}

cases <- list()
add_case <- function(dataset, method, test, weights = "none", tau2 = NULL, block) {
  cases[[length(cases) + 1L]] <<- c(list(dataset = dataset, method = method, test = test, weighting = weights,
                                         tau2_fixed = if (is.null(tau2)) NULL else nums(tau2)), block)
}
hc_cases <- list()

for (d in datasets) {
  base <- list(yi = d$yi, vi = d$vi)
  for (test in c("z", "knha")) {
    for (method in c("PMM", "HSk", "SJIT", "PM", "DL", "HE", "FE", "CE")) {
      add_case(d$name, method, test, block = fit_block(c(base, list(method = method, test = test))))
    }
    # DLIT: metafor 3.8-1 (legacy update) for the record; the current update as reference
    legacy <- fit_block(c(base, list(method = "DLIT", test = test)))
    cur <- dlit_current(d$yi, d$vi)
    legacy$dlit_metafor381 <- legacy$tau2
    legacy$dlit_current <- nums(cur$tau2)
    legacy$dlit_current_iterations <- nums(cur$iterations)
    add_case(d$name, "DLIT", test, block = legacy)
    # GENQ with user weights, with 1/vi (= DL) and with equal weights (= HE)
    for (wname in c("a", "inverse_variance", "equal")) {
      a <- switch(wname, a = d$a, inverse_variance = 1 / d$vi, equal = rep(1, length(d$vi)))
      add_case(d$name, "GENQ", test, wname,
               block = fit_block(c(base, list(method = "GENQ", weights = a, test = test))))
    }
    # user weights for the pooled estimate under other estimators
    for (method in c("REML", "DL", "EE")) {
      add_case(d$name, method, test, "a",
               block = fit_block(c(base, list(method = method, weights = d$a, test = test))))
    }
    # tau2 fixed by the user, with and without weights
    for (t2 in c(0, 0.1)) {
      add_case(d$name, "REML", test, tau2 = t2,
               block = fit_block(c(base, list(method = "REML", tau2 = t2, test = test))))
      add_case(d$name, "DL", test, "a", tau2 = t2,
               block = fit_block(c(base, list(method = "DL", tau2 = t2, weights = d$a, test = test))))
    }
  }
  # Henmi-Copas (DL inside; the model's own method only labels the rma row)
  fit <- rma.uni(d$yi, d$vi, method = "DL", control = tight)
  r <- catch(hc(fit, control = list(tol = 1e-12)))
  h <- r$value
  hc_cases[[length(hc_cases) + 1L]] <- if (inherits(h, "fit_error")) {
    list(dataset = d$name, error = h$msg)
  } else {
    list(dataset = d$name, error = NULL, estimate = nums(h$beta), se = nums(h$se), ci_lb = nums(h$ci.lb),
         ci_ub = nums(h$ci.ub), tau2 = nums(h$tau2))
  }
  r90 <- catch(hc(rma.uni(d$yi, d$vi, method = "DL", level = 90, control = tight), control = list(tol = 1e-12)))
  if (!inherits(r90$value, "fit_error")) {
    hc_cases[[length(hc_cases) + 1L]] <- list(dataset = d$name, level = 0.9, error = NULL,
                                              estimate = nums(r90$value$beta), se = nums(r90$value$se),
                                              ci_lb = nums(r90$value$ci.lb), ci_ub = nums(r90$value$ci.ub),
                                              tau2 = nums(r90$value$tau2))
  }
}

# ------------------------------------------------------------------------------ meta-regression
# dat.bcg log risk ratios on ablat, and on ablat + year; DLIT: the current update with the model matrix
dlit_current_x <- function(yi, vi, X) {
  tau2 <- 0
  for (i in 1:100000) {
    W <- diag(1 / (vi + tau2))
    P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
    new <- max(0, (c(t(yi) %*% P %*% yi) - sum(diag(P %*% diag(vi)))) / sum(diag(P)))
    if (abs(new - tau2) <= 1e-14 * max(1, new)) return(list(tau2 = new, iterations = i))
    tau2 <- new
  }
  list(tau2 = NA, iterations = NA)
}
regression <- list()
mods_list <- list(ablat = ~ ablat, ablat_year = ~ ablat + year)
for (mname in names(mods_list)) {
  X <- model.matrix(mods_list[[mname]], data = dat.bcg)
  for (test in c("z", "knha")) {
    for (method in c("PMM", "HSk", "SJIT", "DLIT", "PM")) {
      r <- catch(rma.uni(bcg$yi, bcg$vi, mods = mods_list[[mname]], data = dat.bcg, method = method, test = test,
                         control = tight))
      f <- r$value
      out <- list(mods = mname, method = method, test = test)
      if (inherits(f, "fit_error")) {
        out$error <- f$msg
      } else {
        out <- c(out, list(error = NULL, estimate = numv(f$beta), se = numv(f$se), zval = numv(f$zval),
                           pval = numv(f$pval), tau2 = nums(f$tau2), QE = nums(f$QE), QM = nums(f$QM),
                           I2 = nums(f$I2), H2 = nums(f$H2)))
      }
      if (method == "DLIT") out$dlit_current <- nums(dlit_current_x(bcg$yi, bcg$vi, X)$tau2)
      regression[[length(regression) + 1L]] <- out
    }
  }
}

datasets_json <- lapply(datasets, function(d) list(name = d$name, description = d$description, k = length(d$yi),
                                                   yi = numv(d$yi), vi = numv(d$vi), a = numv(d$a)))
write_json_file(list(
  meta = list(
    generator = "tests/reference/make_fixtures_estimators.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    number_format = "%.17g; NA -> null, NaN -> NaN, Inf -> Infinity",
    function_called = "rma.uni(yi, vi, method, test, weights, tau2, control = tight); weights(fit); hc(fit, control = list(tol = 1e-12))",
    controls = list(tight = tight),
    notes = c(
      "weighting: 'none' (inverse variance), 'a' (the dataset's a), 'inverse_variance' (1/vi), 'equal' (1).",
      "DLIT cases: tau2 and the other numbers are metafor 3.8-1's legacy update (dlit_metafor381); dlit_current is the metafor >= 4.5-7 update written out in this script.",
      "error: metafor's error message where the fit stopped (e.g. SJIT did not converge in maxiter = 10000).",
      "hc: metafor integrates with integrate() at its default rel.tol (~1.2e-4) and solves with uniroot(tol = 1e-12).")),
  datasets = datasets_json,
  cases = cases,
  hc = hc_cases,
  regression_data = list(yi = numv(bcg$yi), vi = numv(bcg$vi), ablat = numv(dat.bcg$ablat), year = numv(dat.bcg$year)),
  regression = regression
), file.path(out_dir, "metafor_estimators.json"))
