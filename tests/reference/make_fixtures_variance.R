# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_variance.R`
#
# Writes, next to this script,
#   metafor_variance.json  variance-component inference of rma.uni fits (tracker issue 14, item 2):
#                          se.tau2, confint() of tau2 / tau / I2 / H2 (Q-profile, profile likelihood,
#                          Wald), the ML and REML fit statistics (fitstats: logLik, deviance, AIC,
#                          BIC, AICc) and likelihood-ratio tests between nested models (anova).
# Needs R with metafor (arbiter; 3.8-1 when this file was made), metadat and jsonlite.  The datasets
# of the intercept-only cases are those of metafor_rma.json (written by make_fixtures.R: read back
# from that file, 17 significant digits, so exactly the same doubles) plus three published ones
# from metadat.  Numbers are written with 17 significant digits ("%.17g"); NA -> null,
# NaN -> NaN, +-Inf -> +-Infinity.  The file carries no date: regenerating with the same R/metafor
# versions gives byte-identical output.
#
# metafor's generalised-Q interval (confint(type = "GENQ")) needs the CompQuadForm package, which
# Debian does not ship; it is not in this fixture (tests/reference/test_metafor_variance.py checks
# metaacu's generalised-Q interval by its exact special cases instead).
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."

# ------------------------------------------------------------------------------ JSON helpers
# fixture_helpers.R: numbers formatted with 17 significant digits and passed through verbatim
source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch

# ------------------------------------------------------------------------------ datasets
# metafor_rma.json writes non-finite numbers as bare NaN / Infinity (read by Python's json module, not
# by jsonlite); the datasets are finite, so those literals are quoted away before parsing.
rma_txt <- paste(readLines(file.path(out_dir, "metafor_rma.json")), collapse = "\n")
rma_txt <- gsub("-Infinity|Infinity|NaN", "null", rma_txt)
rma_json <- fromJSON(rma_txt, simplifyVector = TRUE)
datasets <- lapply(seq_len(nrow(rma_json$datasets)), function(i) {
  d <- rma_json$datasets[i, ]
  list(name = d$name, description = d$description, source = "metafor_rma.json",
       yi = as.numeric(d$yi[[1]]), vi = as.numeric(d$vi[[1]]))
})
add_ds <- function(name, description, source, yi, vi) {
  datasets[[length(datasets) + 1L]] <<- list(name = name, description = description, source = source,
                                             yi = as.numeric(yi), vi = as.numeric(vi))
}
nrm <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = dat.normand1999)
add_ds("normand1999_md", "Normand 1999 (dat.normand1999): length of hospital stay, mean differences (days)",
       "metadat::dat.normand1999, escalc(measure = 'MD')", nrm$yi, nrm$vi)
nrm_s <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
                data = dat.normand1999)
add_ds("normand1999_smd", "Normand 1999 (dat.normand1999): standardized mean differences",
       "metadat::dat.normand1999, escalc(measure = 'SMD')", nrm_s$yi, nrm_s$vi)
add_ds("hackshaw1998", "Hackshaw 1998 (dat.hackshaw1998): passive smoking and lung cancer, log odds ratios",
       "metadat::dat.hackshaw1998, columns yi and vi", dat.hackshaw1998$yi, dat.hackshaw1998$vi)

# ------------------------------------------------------------------------------ controls
# rma.uni: tight Fisher scoring / uniroot as in make_fixtures.R; where tight Fisher scoring fails
# (seed 1067 of make_fixtures.R), step halving (stepadj = 0.5) converges.  confint(): tol of its
# uniroot searches; tau2.max = 1e8 re-runs a search whose bound reached the default search limit
# max(100, 10 * tau2).
tight <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
tight_stepadj <- c(tight, list(stepadj = 0.5))
ci_control <- list(tol = 1e-12)
wide_control <- c(ci_control, list(tau2.max = 1e8))
methods <- c("EE", "DL", "HE", "HS", "SJ", "ML", "REML", "EB", "PM")

fit_rma <- function(args) {
  r <- catch(do.call(rma.uni, c(args, list(control = tight))))
  control <- "tight"
  if (inherits(r$value, "fit_error") && args$method %in% c("ML", "REML", "EB")) {
    r <- catch(do.call(rma.uni, c(args, list(control = tight_stepadj))))
    control <- "tight_stepadj"
  }
  list(fit = r$value, warnings = r$warnings, control = control)
}

fitstats_block <- function(fit) {
  fs <- fit$fit.stats
  lapply(c(ML = "ML", REML = "REML"), function(col) list(
    ll = nums(fs["ll", col]), dev = nums(fs["dev", col]), AIC = nums(fs["AIC", col]),
    BIC = nums(fs["BIC", col]), AICc = nums(fs["AICc", col])))
}

confint_block <- function(fit, type) {
  one <- function(control) catch(confint(fit, type = type, control = control))
  r <- one(ci_control)
  if (inherits(r$value, "fit_error")) return(list(ok = FALSE, error = r$value$msg, warnings = as.list(r$warnings)))
  rr <- r$value$random
  out <- list(ok = TRUE,
              tau2 = numv(rr["tau^2", ]), tau = numv(rr["tau", ]), I2 = numv(rr["I^2(%)", ]), H2 = numv(rr["H^2", ]),
              lb_sign = r$value$lb.sign, ub_sign = r$value$ub.sign, ci_null = r$value$ci.null,
              warnings = as.list(r$warnings))
  if (type != "Wald" && identical(r$value$ub.sign, ">")) {
    # the upper bound lies beyond the default search limit: search again on a wide interval
    w <- one(wide_control)
    if (!inherits(w$value, "fit_error")) {
      ww <- w$value$random
      out$wide <- list(tau2 = numv(ww["tau^2", ]), lb_sign = w$value$lb.sign, ub_sign = w$value$ub.sign,
                       warnings = as.list(w$warnings))
    }
  }
  out
}

fit_block <- function(args) {
  f <- fit_rma(args)
  res <- list(method = args$method, control = f$control, warnings = as.list(f$warnings))
  if (inherits(f$fit, "fit_error")) return(c(res, list(ok = FALSE, error = f$fit$msg)))
  fit <- f$fit
  res$ok <- TRUE
  res$k <- fit$k
  res$p <- fit$p
  res$parms <- fit$parms
  res$tau2 <- nums(fit$tau2)
  res$se_tau2 <- nums(fit$se.tau2)
  res$I2 <- nums(fit$I2)
  res$H2 <- nums(fit$H2)
  res$vt <- nums(fit$vt)
  res$QE <- nums(fit$QE)
  res$fitstats <- fitstats_block(fit)
  if (args$method != "EE" && fit$k > 1) {
    ci <- list(QP = confint_block(fit, "QP"), Wald = confint_block(fit, "Wald"))
    if (args$method %in% c("ML", "REML")) ci$PL <- confint_block(fit, "PL")
    res$confint <- ci
  }
  list(res = res, fit = fit)
}

# ============================================================================== intercept-only fits
cases <- list()
for (ds in datasets) {
  for (method in methods) {
    b <- fit_block(list(yi = ds$yi, vi = ds$vi, method = method))
    cases[[length(cases) + 1L]] <- c(list(dataset = ds$name), b$res)
  }
}

# ============================================================================== meta-regression (dat.bcg)
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_mods <- list(
  "1" = ~ 1,
  "ablat" = ~ ablat,
  "year" = ~ year,
  "ablat+year" = ~ ablat + year,
  "alloc" = ~ factor(alloc),
  "ablat+alloc" = ~ ablat + factor(alloc),
  "year+alloc" = ~ year + factor(alloc))
reg_fit <- function(mods, method) {
  fit_block(list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi), mods = bcg_mods[[mods]],
                 data = data.frame(ablat = dat.bcg$ablat, year = dat.bcg$year, alloc = dat.bcg$alloc),
                 method = method))
}
regression <- list()
reg_fits <- list()
for (mods in names(bcg_mods)[-1]) {
  for (method in methods) {
    b <- reg_fit(mods, method)
    regression[[length(regression) + 1L]] <- c(list(mods = mods), b$res)
  }
}
for (mods in names(bcg_mods)) {
  for (method in c("EE", "ML", "REML")) reg_fits[[paste(mods, method)]] <- reg_fit(mods, method)$fit
}

# ============================================================================== likelihood-ratio tests
# anova(full, reduced): LRT from the ML deviances, or the REML deviances when the full model is
# REML (then metafor only warns when the fixed effects differ; metaacu refuses, so no such pair is
# here except one that records metafor's warning).
pairs <- list(
  c("ablat", "ML", "1", "ML"),
  c("year", "ML", "1", "ML"),
  c("ablat+year", "ML", "ablat", "ML"),
  c("ablat+year", "ML", "year", "ML"),
  c("ablat+year", "ML", "1", "ML"),
  c("ablat+alloc", "ML", "ablat", "ML"),
  c("ablat+alloc", "ML", "alloc", "ML"),
  c("alloc", "ML", "1", "ML"),
  c("1", "ML", "1", "EE"),
  c("ablat", "ML", "ablat", "EE"),
  c("ablat+year", "ML", "1", "EE"),
  c("1", "REML", "1", "EE"),
  c("ablat", "REML", "ablat", "EE"),
  c("ablat+year", "REML", "ablat+year", "EE"),
  c("ablat", "EE", "1", "EE"),
  c("ablat+year", "EE", "ablat", "EE"),
  c("ablat", "REML", "1", "REML"))
anova_cases <- list()
for (pr in pairs) {
  f <- reg_fits[[paste(pr[1], pr[2])]]
  r <- reg_fits[[paste(pr[3], pr[4])]]
  a <- catch(anova(f, r))
  out <- list(full = list(mods = pr[1], method = pr[2]), reduced = list(mods = pr[3], method = pr[4]),
              warnings = as.list(a$warnings))
  if (inherits(a$value, "fit_error")) {
    out$ok <- FALSE
    out$error <- a$value$msg
  } else {
    v <- a$value
    out$ok <- TRUE
    out$LRT <- nums(v$LRT)
    out$pval <- nums(v$pval)
    out$parms_f <- v$parms.f
    out$parms_r <- v$parms.r
    out$fit_stats_f <- numv(v$fit.stats.f)
    out$fit_stats_r <- numv(v$fit.stats.r)
    out$R2 <- nums(v$R2)
    out$QE_f <- nums(v$QE.f)
    out$QE_r <- nums(v$QE.r)
    out$tau2_f <- nums(v$tau2.f)
    out$tau2_r <- nums(v$tau2.r)
  }
  anova_cases[[length(anova_cases) + 1L]] <- out
}

datasets_json <- lapply(datasets, function(d) list(name = d$name, description = d$description, source = d$source,
                                                   k = length(d$yi), yi = numv(d$yi), vi = numv(d$vi)))
write_json_file(list(
  meta = list(
    generator = "tests/reference/make_fixtures_variance.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    number_format = "%.17g; NA -> null, NaN -> NaN, Inf -> Infinity",
    function_called = paste(
      "rma.uni(yi, vi, mods, method, control); fit$se.tau2; fit$fit.stats;",
      "confint(fit, type = 'QP' | 'PL' | 'Wald', control = list(tol = 1e-12)); anova(full, reduced)"),
    controls = list(tight = tight, tight_stepadj = tight_stepadj, confint = ci_control, confint_wide = wide_control),
    notes = c(
      "Each confint block holds rows tau2, tau, I2, H2 as (estimate, ci.lb, ci.ub); lb_sign/ub_sign are metafor's '<' / '>' marks of a bound at the end of its search interval [0, max(100, 10 * tau2)]; 'wide' re-runs the search with tau2.max = 1e8 when ub_sign is '>'.",
      "fitstats holds both columns of fit$fit.stats (ML and REML) for every method; fitstats(fit) prints the REML column for REML fits and the ML column otherwise.",
      "PL intervals are stored for ML and REML fits only (metafor also profiles other methods, with the ML likelihood at their estimate).",
      "regression: dat.bcg log risk ratios with the moderators named in 'mods' (factor(alloc): treatment contrasts, levels alternate, random, systematic).",
      "anova: fit_stats_f / fit_stats_r are (logLik, deviance, AIC, BIC, AICc) of the likelihood used for the LRT.",
      "control 'tight_stepadj' is used only where tight Fisher scoring failed."),
    anova_pairs = "full mods, full method, reduced mods, reduced method"),
  datasets = datasets_json,
  cases = cases,
  regression_data = list(yi = numv(bcg$yi), vi = numv(bcg$vi), ablat = numv(dat.bcg$ablat), year = numv(dat.bcg$year),
                         alloc = as.character(dat.bcg$alloc)),
  regression = regression,
  anova = anova_cases
), file.path(out_dir, "metafor_variance.json"))
