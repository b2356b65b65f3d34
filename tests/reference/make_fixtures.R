# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures.R`
#
# Writes, next to this script,
#   metafor_rma.json     rma.uni() fits: every dataset x method x test (+ REML at metafor defaults)
#   metafor_escalc.json  escalc() on varied summary data, including zero cells and small n
# Needs R with metafor (arbiter; 3.8-1 when these files were made) and jsonlite.
# Numbers are written with 17 significant digits ("%.17g"); NA -> null, NaN -> NaN,
# +-Inf -> +-Infinity (Python's json module reads all three).  The files carry no date, so
# regenerating with the same R/metafor versions gives byte-identical output.
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

meta_block <- function(extra = list()) {
  c(list(
    generator = "tests/reference/make_fixtures.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    number_format = "%.17g; NA -> null, NaN -> NaN, Inf -> Infinity"
  ), extra)
}

# ============================================================================== rma.uni
set.seed(20240611)

gen <- function(k, tau2, vlo, vhi, mu = 0.3) {
  vi <- exp(runif(k, log(vlo), log(vhi)))
  yi <- rnorm(k, mu, sqrt(vi + tau2))
  list(yi = yi, vi = vi)
}

datasets <- list()
add_ds <- function(name, description, d) {
  datasets[[length(datasets) + 1L]] <<- list(name = name, description = description,
                                             yi = d$yi, vi = d$vi)
}

# k = 1 and k = 2
add_ds("k1_a", "single study", list(yi = 0.5, vi = 0.04))
add_ds("k1_b", "single study, large variance, negative effect", list(yi = -1.2, vi = 2))
add_ds("k2_tau0", "k = 2, homogeneous", gen(2, 0, 0.01, 0.1))
add_ds("k2_tau01", "k = 2, tau2 = 0.1", gen(2, 0.1, 0.01, 0.1))
add_ds("k2_far", "k = 2, far apart", list(yi = c(-0.8, 1.1), vi = c(0.02, 0.05)))
add_ds("k2_identical", "k = 2, identical yi (Q = 0)", list(yi = c(0.4, 0.4), vi = c(0.03, 0.07)))
# k = 3, 5, 10, 30, 100 with tau2 from 0 to large
for (k in c(3, 5, 10, 30, 100)) {
  taus <- switch(as.character(k),
                 "3" = c(0, 0.05, 0.5, 2),
                 "5" = c(0, 0.01, 0.1, 0.5, 1, 4),
                 "10" = c(0, 0.005, 0.02, 0.05, 0.1, 0.3, 1, 3),
                 "30" = c(0, 0.02, 0.2, 1),
                 "100" = c(0, 0.05, 0.5))
  for (t2 in taus) {
    add_ds(sprintf("k%d_tau%s", k, format(t2)), sprintf("k = %d, simulated with tau2 = %s, vi in [0.005, 0.5]", k, format(t2)),
           gen(k, t2, 0.005, 0.5))
  }
}
add_ds("k5_smallv", "k = 5, variances around 1e-3 (large weights)", gen(5, 0.002, 5e-4, 2e-3))
add_ds("k8_equalv", "k = 8, equal variances (all estimators coincide up to their definitions)",
       list(yi = rnorm(8, 0.2, sqrt(0.05 + 0.1)), vi = rep(0.05, 8)))
add_ds("k12_widev", "k = 12, variances spanning 1e-4 to 10",
       { v <- 10^seq(-4, 1, length.out = 12); list(yi = rnorm(12, 0.1, sqrt(v + 0.05)), vi = v) })
add_ds("k10_largev", "k = 10, all variances between 3 and 10", gen(10, 0.5, 3, 10))
add_ds("k10_outlier", "k = 10, one outlier 6 SD out",
       { d <- gen(10, 0.02, 0.01, 0.1); d$yi[4] <- 0.3 + 6 * sqrt(d$vi[4] + 0.02); d })
add_ds("k20_outliers", "k = 20, two outliers on opposite sides",
       { d <- gen(20, 0.01, 0.01, 0.2); d$yi[3] <- 2.5; d$yi[17] <- -1.9; d })
add_ds("k5_identical", "k = 5, identical yi (Q = 0, tau2 = 0)", list(yi = rep(0.25, 5), vi = c(0.01, 0.04, 0.02, 0.09, 0.05)))
add_ds("k4_identical_v", "k = 4, identical yi and vi", list(yi = rep(-0.3, 4), vi = rep(0.02, 4)))
add_ds("k10_hugetau", "k = 10, very large tau2 (25) on a big scale", gen(10, 25, 0.1, 1, mu = 3))
add_ds("k6_negative", "k = 6, negative effects on a log scale", gen(6, 0.08, 0.02, 0.3, mu = -1.5))
add_ds("k7_Qbelowdf", "k = 7, Q well below k - 1 (all estimators at 0)",
       list(yi = c(0.30, 0.31, 0.29, 0.305, 0.295, 0.30, 0.302), vi = c(0.05, 0.08, 0.04, 0.06, 0.1, 0.07, 0.09)))
add_ds("k2_tau1", "k = 2, tau2 = 1", gen(2, 1, 0.01, 0.1))
add_ds("k3_identical", "k = 3, identical yi (Q = 0)", list(yi = c(1.1, 1.1, 1.1), vi = c(0.2, 0.5, 0.3)))
add_ds("k3_equalv", "k = 3, equal variances", list(yi = c(0.1, 0.5, 1.3), vi = rep(0.04, 3)))
# Two k = 10 datasets whose REML likelihood is not concave: the score is negative at tau2 = 0, yet an
# interior maximum with a larger likelihood exists (rows 1838 and 2946 of the benchmark simulation,
# seed 20260; found when metaacu returned 0 there before its solver probed for interior maxima).
add_ds("k10_bimodal_a", "k = 10, REML score < 0 at 0 but interior maximum (benchmark row 1838)", list(
  yi = c(-0.10820388416926645, 0.17234932501875294, -0.34225641243911881, 0.2734540199704969, 0.40688992652843159,
         0.30000104503907515, 0.13611583438897037, 0.72603982407066048, 0.39708469265685936, 1.572761978352772),
  vi = c(0.16356054697989431, 0.15269241445730222, 0.19591471077282244, 0.01649120802388988, 0.18942236223607692,
         0.095149614338092769, 0.05137208771879969, 0.16125907344643872, 0.17496466907287758, 0.16669185412714804)))
add_ds("k10_bimodal_b", "k = 10, REML score < 0 at 0 but interior maximum (benchmark row 2946)", list(
  yi = c(-0.55109575335153349, -0.039565523898457425, -0.11770001770067215, 0.39090836376238031, 1.2584204981493203,
         0.081054886709533647, -0.10796754689102289, 0.038138353259466844, -0.30985973782415277, 0.094126608940723194),
  vi = c(0.12502358248515058, 0.033337306894207351, 0.16474978381594033, 0.185194264693268, 0.11315815943933433,
         0.012031601058193927, 0.051824736397328978, 0.17290724656484027, 0.14210160720493409, 0.01350728585336609)))
add_ds("k10_tinyv", "k = 10, all variances about 1e-4 with heterogeneity", gen(10, 0.01, 5e-5, 2e-4))
add_ds("k10_mu0", "k = 10, true mean 0 (p-values near 1)", gen(10, 0.05, 0.01, 0.2, mu = 0))
add_ds("k30_widev", "k = 30, variances spanning 1e-3 to 5", gen(30, 0.1, 1e-3, 5))
add_ds("k100_outliers", "k = 100, five outliers",
       { d <- gen(100, 0.03, 0.005, 0.3); d$yi[c(5, 20, 50, 77, 90)] <- c(3, -2.5, 2.8, 4, -3); d })
add_ds("k15_mixed", "k = 15, mixture of precise and imprecise studies", gen(15, 0.15, 0.001, 2))
# BCG vaccine trials (Colditz et al. 1994), log risk ratios as in metafor's dat.bcg examples
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_ds("bcg_logrr", "BCG vaccine trials (dat.bcg), log risk ratios", list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi)))
# Fisher-scoring failures: found by scanning seeds 1..3000 of this generator for datasets where
# rma(yi, vi) stops with "Fisher scoring algorithm did not converge" (seeds 88, 197, 1067, ...).
# Seed 1067 fails even at threshold = 1e-12, maxiter = 10000; seed 88 fails only at the defaults.
fs_gen <- function(seed) {
  set.seed(seed)
  vi <- exp(runif(10, log(0.01), log(1)))
  yi <- rnorm(10, 0.3, sqrt(vi + rexp(1, 5)))
  list(yi = yi, vi = vi)
}
add_ds("fs_fail_1067", "k = 10: metafor's Fisher scoring (REML) oscillates and fails, default and tight", fs_gen(1067))
add_ds("fs_fail_88", "k = 10: metafor's Fisher scoring (REML) fails at default control only", fs_gen(88))
set.seed(777)

methods <- c("EE", "DL", "REML", "ML", "PM", "EB", "HE", "SJ", "HS")
tests <- c("z", "t", "knha", "adhoc")
re_methods <- setdiff(methods, "EE")
# rma.uni's control names in metafor 3.8: threshold (Fisher scoring and EB/SJIT iterations,
# |change in tau2|), maxiter, tol (uniroot tolerance used by PM and, in confint(), the Q-profile).
# HE, SJ, DL and HS are closed forms and ignore control.
tight <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
tight_stepadj <- c(tight, list(stepadj = 0.5))
ci_control <- list(tol = 1e-12)

fit_case <- function(ds, method, test, control, control_name, with_ci) {
  res <- list(dataset = ds$name, method = method, test = test, control = control_name)
  r <- catch(rma.uni(ds$yi, ds$vi, method = method, test = test, control = control))
  res$warnings <- as.list(r$warnings)
  if (inherits(r$value, "fit_error")) {
    res$ok <- FALSE
    res$error <- r$value$msg
    return(res)
  }
  fit <- r$value
  res$ok <- TRUE
  res$error <- NULL
  res$test_used <- fit$test
  p <- predict(fit)
  res$values <- list(
    estimate = nums(fit$beta[1]), se = nums(fit$se), ci_lb = nums(fit$ci.lb), ci_ub = nums(fit$ci.ub),
    zval = nums(fit$zval), pval = nums(fit$pval), ddf = nums(fit$ddf), tau2 = nums(fit$tau2),
    QE = nums(fit$QE), QEp = nums(fit$QEp), I2 = nums(fit$I2), H2 = nums(fit$H2),
    s2w = nums(fit$s2w), weights = numv(weights(fit)), pi_lb = nums(p$pi.lb), pi_ub = nums(p$pi.ub))
  if (with_ci && method != "EE") {
    ci <- catch(confint(fit, control = ci_control))
    if (inherits(ci$value, "fit_error")) {
      res$tau2_ci_error <- ci$value$msg
    } else {
      rr <- ci$value$random
      res$values$tau2_ci_lb <- nums(rr["tau^2", "ci.lb"])
      res$values$tau2_ci_ub <- nums(rr["tau^2", "ci.ub"])
      # confint() searches tau2 in [0, max(100, 10 * tau2)] and returns the end of that interval
      # when the bound lies beyond it; then the bound is recomputed on a wide interval.
      limit <- max(100, 10 * fit$tau2)
      res$values$tau2_ci_search_max <- nums(limit)
      if (rr["tau^2", "ci.ub"] >= limit) {
        wide <- catch(confint(fit, control = c(ci_control, list(tau2.max = 1e8))))
        res$values$tau2_ci_ub_wide <- nums(wide$value$random["tau^2", "ci.ub"])
        res$values$tau2_ci_lb_wide <- nums(wide$value$random["tau^2", "ci.lb"])
      }
    }
    res$tau2_ci_warnings <- as.list(ci$warnings)
  }
  res
}

cases <- list()
for (ds in datasets) {
  for (method in methods) {
    for (test in tests) {
      cases[[length(cases) + 1L]] <- fit_case(ds, method, test, tight, "tight", with_ci = test == "z")
    }
  }
  # metafor's defaults, to document the default tolerance (REML, every test)
  for (test in tests) {
    cases[[length(cases) + 1L]] <- fit_case(ds, "REML", test, list(), "default", with_ci = FALSE)
  }
}
# Where tight Fisher scoring fails, a step-halved Fisher scoring (stepadj = 0.5) converges:
# that is the reference for metaacu's REML/ML/EB on those datasets.
for (ds in datasets) {
  for (method in c("REML", "ML", "EB")) {
    failed <- any(vapply(cases, function(cs) cs$dataset == ds$name && cs$method == method &&
                           cs$control == "tight" && !cs$ok, TRUE))
    if (failed) {
      for (test in tests) {
        cases[[length(cases) + 1L]] <- fit_case(ds, method, test, tight_stepadj, "tight_stepadj",
                                                with_ci = test == "z")
      }
    }
  }
}

datasets_json <- lapply(datasets, function(d) list(name = d$name, description = d$description,
                                                   k = length(d$yi), yi = numv(d$yi), vi = numv(d$vi)))
write_json_file(list(
  meta = meta_block(list(
    function_called = "rma.uni(yi, vi, method, test, control); predict(); weights(); confint(control = list(tol = 1e-12))",
    controls = list(
      tight = tight,
      default = "metafor defaults (threshold = 1e-5, maxiter = 100, tol = .Machine$double.eps^0.25)",
      tight_stepadj = tight_stepadj,
      confint = ci_control),
    notes = c(
      "confint() (Q-profile CI for tau2) is stored on the test = 'z' case of each random-effects method only (it does not depend on test).",
      "weights are weights(fit): percent, summing to 100.",
      "tau2_ci_search_max is the upper end of confint()'s search interval; where the upper bound reaches it, tau2_ci_lb_wide/tau2_ci_ub_wide hold the bounds recomputed with tau2.max = 1e8.",
      "k = 1 with test t/knha/adhoc: metafor warns and falls back to test = 'z' (test_used); metaacu raises instead.",
      "control 'tight_stepadj' cases exist only where the tight Fisher scoring failed.")
  )),
  datasets = datasets_json,
  cases = cases
), file.path(out_dir, "metafor_rma.json"))

# ============================================================================== escalc
ecases <- list()
add_es <- function(id, measure, args, vtype = "LS", add = 0.5, to = "only0", note = NULL) {
  r_args <- args
  rn <- c(events1 = "ai", n1 = "n1i", events2 = "ci", n2 = "n2i", events = "xi", n = "ni",
          mean1 = "m1i", sd1 = "sd1i", mean2 = "m2i", sd2 = "sd2i")
  names(r_args) <- rn[names(args)]
  r <- catch(do.call(escalc, c(list(measure = measure, vtype = vtype, add = add, to = to), r_args)))
  res <- list(id = id, measure = measure, args = lapply(args, numv), vtype = vtype, add = add, to = to,
              warnings = as.list(r$warnings))
  if (!is.null(note)) res$note <- note
  if (inherits(r$value, "fit_error")) {
    res$ok <- FALSE
    res$error <- r$value$msg
  } else {
    res$ok <- TRUE
    res$yi <- numv(r$value$yi)
    res$vi <- numv(r$value$vi)
  }
  ecases[[length(ecases) + 1L]] <<- res
}

set.seed(4242)
cont <- function(k, nlo = 5, nhi = 120) {
  n1 <- sample(nlo:nhi, k, TRUE); n2 <- sample(nlo:nhi, k, TRUE)
  list(n1 = n1, mean1 = round(rnorm(k, 12, 3), 2), sd1 = round(runif(k, 1, 6), 2),
       n2 = n2, mean2 = round(rnorm(k, 10, 3), 2), sd2 = round(runif(k, 1, 6), 2))
}
c_typical <- cont(8)
c_small <- list(n1 = c(2, 3, 2, 4), mean1 = c(5.1, 4.0, 7.5, 3.3), sd1 = c(1.2, 0.8, 2.0, 1.1),
                n2 = c(2, 2, 3, 5), mean2 = c(4.0, 4.6, 5.0, 3.0), sd2 = c(0.9, 1.5, 1.7, 0.6))
c_large <- cont(5, 500, 5000)
c_bigeffect <- list(n1 = c(10, 25, 40), mean1 = c(30, 22, 15), sd1 = c(2, 3, 1.5),
                    n2 = c(12, 20, 44), mean2 = c(10, 12, 9), sd2 = c(2.5, 2, 1.2))
for (nm in c("typical", "small", "large", "bigeffect")) {
  a <- get(paste0("c_", nm))
  add_es(paste0("MD_", nm), "MD", a)
  add_es(paste0("SMD_LS_", nm), "SMD", a, vtype = "LS")
  add_es(paste0("SMD_UB_", nm), "SMD", a, vtype = "UB")
  add_es(paste0("SMDH_", nm), "SMDH", a)
  add_es(paste0("ROM_", nm), "ROM", a)
}
add_es("ROM_opposite_signs", "ROM", list(n1 = c(20, 20), mean1 = c(5, -3), sd1 = c(1, 1), n2 = c(20, 20),
                                         mean2 = c(4, 2), sd2 = c(1, 1)),
       note = "means of opposite sign: log ratio undefined (metafor NA/NaN); metaacu raises")

bin_typical <- list(events1 = c(4, 6, 3, 62, 33, 180, 8, 505), n1 = c(123, 306, 231, 13598, 5069, 1541, 2545, 88391),
                    events2 = c(11, 29, 11, 248, 47, 372, 10, 499), n2 = c(139, 303, 220, 12867, 5808, 1451, 629, 88391))
bin_zero1 <- list(events1 = c(0, 5, 3, 0), n1 = c(20, 40, 15, 8), events2 = c(4, 0, 6, 2), n2 = c(22, 38, 15, 9))
bin_all <- list(events1 = c(20, 7, 12), n1 = c(20, 10, 12), events2 = c(15, 10, 3), n2 = c(18, 10, 11))
bin_small <- list(events1 = c(1, 2, 1), n1 = c(3, 4, 2), events2 = c(2, 1, 1), n2 = c(3, 5, 3))
bin_double0 <- list(events1 = c(0, 3, 5), n1 = c(25, 30, 12), events2 = c(0, 6, 5), n2 = c(24, 31, 13))
bin_mixed <- list(events1 = c(0, 4, 9, 0, 12), n1 = c(15, 30, 9, 40, 50), events2 = c(3, 4, 11, 0, 20), n2 = c(15, 28, 11, 38, 50))
for (m in c("RR", "OR", "RD", "PETO")) {
  add_es(paste0(m, "_typical"), m, bin_typical)
  add_es(paste0(m, "_small"), m, bin_small)
  add_es(paste0(m, "_allevents"), m, bin_all, note = "all events in one arm of some studies")
  for (to in c("only0", "all", "if0all", "none")) {
    add_es(paste0(m, "_zero1_", to), m, bin_zero1, to = to, note = "a zero in one arm")
    add_es(paste0(m, "_double0_", to), m, bin_double0, to = to,
           note = "study 1 has zero events in both arms (double zero)")
  }
  add_es(paste0(m, "_mixed_add1"), m, bin_mixed, add = 1, note = "add = 1, zeros in one and both arms, all events")
  add_es(paste0(m, "_mixed_add0"), m, bin_mixed, add = 0, note = "add = 0: no correction")
}
prop_typical <- list(events = c(5, 12, 30, 1, 48), n = c(40, 50, 90, 17, 60))
prop_edge <- list(events = c(0, 3, 10, 7), n = c(12, 15, 10, 7))
for (m in c("PR", "PLO")) {
  add_es(paste0(m, "_typical"), m, prop_typical)
  for (to in c("only0", "all", "if0all", "none")) {
    add_es(paste0(m, "_edge_", to), m, prop_edge, to = to, note = "x = 0 and x = n")
  }
  add_es(paste0(m, "_edge_add1"), m, prop_edge, add = 1)
}

write_json_file(list(
  meta = meta_block(list(
    function_called = "escalc(measure, <arm data>, vtype, add, to)",
    argument_map = list(events1 = "ai", n1 = "n1i", events2 = "ci", n2 = "n2i", events = "xi", n = "ni",
                        mean1 = "m1i", sd1 = "sd1i", mean2 = "m2i", sd2 = "sd2i"),
    notes = c(
      "Binary data are given to escalc as events and group totals (ai, n1i, ci, n2i).",
      "metafor recodes +-Inf yi/vi to NA with a warning (e.g. a double-zero study with to = 'none'); with the default to = 'only0' a double-zero study gets 1/2 added to every cell and a finite yi (drop00 = FALSE).",
      "metafor applies add/to to PETO as to the other binary measures.",
      "Where metafor gives NA, NaN or vi <= 0 for a study, metaacu raises MetaacuInputError naming the study.")
  )),
  cases = ecases
), file.path(out_dir, "metafor_escalc.json"))
