# Generates tests/reference/metafor_toolkit_a.json: metafor reference values for
# metaacu.binary (rma.mh, rma.peto), metaacu.subgroups and metaacu.regression (rma.uni with mods).
#
# Regenerate with:  Rscript tests/reference/make_fixtures_toolkit_a.R   (from the repository root)
# The JSON it writes says "do not edit"; every number is written at full double precision.
# Iterative fits use control = list(threshold = 1e-12, maxiter = 10000, tol = 1e-12) so that the
# reference is converged far below the Python tolerance (metafor's default stops at |delta tau2| <= 1e-5;
# `tol` is the uniroot() tolerance used by the PM estimator, default ~1.2e-4).
# Models without an intercept: metafor 3.8-1's REML/ML Fisher scoring stops at a tau2 that is not the
# maximum of metafor's own (restricted) log-likelihood, so for those cases the script also records
# the maximiser of logLik() (optimize) and the fit at that tau2 ("loglik_max").
suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

tight <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
num <- function(x) { x <- unname(as.numeric(x)); x }

# ------------------------------------------------------------------ binary datasets
bcg <- dat.bcg
mag <- dat.egger2001
binary_sets <- list(
  bcg = list(events1 = bcg$tpos, n1 = bcg$tpos + bcg$tneg,
             events2 = bcg$cpos, n2 = bcg$cpos + bcg$cneg),
  magnesium = list(events1 = mag$ai, n1 = mag$n1i, events2 = mag$ci, n2 = mag$n2i),
  k3 = list(events1 = c(12, 7, 30), n1 = c(100, 60, 210),
            events2 = c(20, 9, 41), n2 = c(98, 62, 205)),
  zero_cells = list(events1 = c(0, 2, 0, 5, 4, 1), n1 = c(20, 25, 15, 40, 30, 12),
                    events2 = c(3, 0, 0, 8, 7, 1), n2 = c(20, 25, 15, 40, 31, 12)),
  all_events = list(events1 = c(20, 10, 8, 3), n1 = c(20, 30, 25, 3),
                    events2 = c(15, 5, 8, 3), n2 = c(20, 30, 25, 3)),
  ties = list(events1 = c(5, 5, 5, 3), n1 = c(50, 50, 50, 40),
              events2 = c(10, 10, 10, 6), n2 = c(50, 50, 50, 40)),
  homogeneous = list(events1 = c(10, 20, 30), n1 = c(100, 200, 300),
                     events2 = c(20, 40, 60), n2 = c(100, 200, 300))
)

mh_case <- function(name, d, measure, correction, level = 95) {
  if (correction == "metafor") {
    args <- list(add = 1/2, to = "only0", drop00 = TRUE)
  } else {  # RevMan 5: 1/2 added inside MH to tables with a zero cell; double-zero tables dropped
    args <- list(add = c(1/2, 1/2), to = c("only0", "only0"), drop00 = c(TRUE, TRUE))
  }
  r <- suppressWarnings(do.call(rma.mh, c(list(ai = d$events1, n1i = d$n1, ci = d$events2,
                                                n2i = d$n2, measure = measure, level = level), args)))
  es <- suppressWarnings(escalc(measure, ai = d$events1, n1i = d$n1, ci = d$events2, n2i = d$n2,
                                add = 1/2, to = "only0", drop00 = TRUE))
  w <- suppressWarnings(weights(r))
  list(name = name, dataset = name, measure = measure, correction = correction, level = level / 100,
       input = d,
       output = list(estimate = num(r$beta), se = num(r$se), statistic = num(r$zval), pvalue = num(r$pval),
                     ci_low = num(r$ci.lb), ci_high = num(r$ci.ub), q = num(r$QE), q_pvalue = num(r$QEp),
                     i2 = num(r$I2), h2 = num(r$H2), k = r$k, k_yi = r$k.yi,
                     weights = num(w), yi = num(es$yi), vi = num(es$vi),
                     cmh = num(r$MH), cmh_pvalue = num(r$MHp)))
}

peto_case <- function(name, d, level = 95) {
  r <- suppressWarnings(rma.peto(ai = d$events1, n1i = d$n1, ci = d$events2, n2i = d$n2, level = level))
  es <- suppressWarnings(escalc("PETO", ai = d$events1, n1i = d$n1, ci = d$events2, n2i = d$n2,
                                add = 1/2, to = "only0", drop00 = TRUE))
  list(name = name, dataset = name, level = level / 100, input = d,
       output = list(estimate = num(r$beta), se = num(r$se), statistic = num(r$zval), pvalue = num(r$pval),
                     ci_low = num(r$ci.lb), ci_high = num(r$ci.ub), q = num(r$QE), q_pvalue = num(r$QEp),
                     i2 = num(r$I2), h2 = num(r$H2), k = r$k, k_yi = r$k.yi,
                     weights = num(suppressWarnings(weights(r))), yi = num(es$yi), vi = num(es$vi)))
}

mh <- list(); peto <- list()
for (nm in names(binary_sets)) {
  for (m in c("OR", "RR", "RD")) mh[[length(mh) + 1]] <- mh_case(nm, binary_sets[[nm]], m, "metafor")
  for (m in c("OR", "RR")) mh[[length(mh) + 1]] <- mh_case(nm, binary_sets[[nm]], m, "revman5")
  peto[[length(peto) + 1]] <- peto_case(nm, binary_sets[[nm]])
}
mh[[length(mh) + 1]] <- mh_case("bcg", binary_sets$bcg, "OR", "metafor", level = 90)
peto[[length(peto) + 1]] <- peto_case("bcg", binary_sets$bcg, level = 90)

# ------------------------------------------------------------------ generic yi/vi datasets
bcg_rr <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
set.seed(20240611)
k30 <- 30
x1 <- round(runif(k30, 0, 10), 1); x2 <- rnorm(k30)
v30 <- runif(k30, 0.01, 0.2)
y30 <- 0.2 + 0.05 * x1 - 0.1 * x2 + rnorm(k30, 0, sqrt(v30 + 0.04))
gen_sets <- list(
  bcg = list(yi = num(bcg_rr$yi), vi = num(bcg_rr$vi),
             mods = list(ablat = bcg$ablat, year = bcg$year, alloc = as.character(bcg$alloc))),
  sim30 = list(yi = y30, vi = v30, mods = list(x1 = x1, x2 = x2,
               g = sample(c("north", "south", "east"), k30, replace = TRUE))),
  small = list(yi = c(0.10, 0.35, 0.22, 0.60, 0.41), vi = c(0.03, 0.05, 0.02, 0.08, 0.04),
               mods = list(x = c(1, 2, 2, 4, 3), g = c("b", "a", "b", "c", "a"))),
  homog = list(yi = c(0.20, 0.21, 0.19, 0.22, 0.20, 0.18), vi = c(0.04, 0.05, 0.03, 0.06, 0.05, 0.04),
               mods = list(x = c(1, 2, 3, 4, 5, 6), g = c("y", "y", "x", "x", "x", "z"))),
  one_study_group = list(yi = c(0.5, 0.8, 0.2, -0.1, 0.3, 0.05, 1.1), vi = c(0.04, 0.06, 0.05, 0.03, 0.07, 0.05, 0.09),
                         mods = list(g = c("A", "A", "B", "B", "A", "B", "C")))
)

# ------------------------------------------------------------------ subgroups
fit_out <- function(r) list(estimate = num(r$beta), se = num(r$se), ci_low = num(r$ci.lb), ci_high = num(r$ci.ub),
                            statistic = num(r$zval), pvalue = num(r$pval), tau2 = num(r$tau2), q = num(r$QE),
                            q_pvalue = num(r$QEp), i2 = num(r$I2), k = r$k)
sub_case <- function(name, dataset, method, test, tau2) {
  d <- gen_sets[[dataset]]; g <- d$mods$g; if (is.null(g)) g <- d$mods$alloc
  levs <- unique(g)
  out <- list(groups = list())
  if (tau2 == "separate") {
    est <- se <- numeric(0)
    for (lv in levs) {
      r <- suppressWarnings(rma(d$yi[g == lv], d$vi[g == lv], method = method, test = test, control = tight))
      out$groups[[lv]] <- fit_out(r)
      est <- c(est, r$beta); se <- c(se, r$se)
    }
    b <- rma(est, sei = se, method = "EE")
    out$q_between <- num(b$QE); out$q_between_df <- length(levs) - 1; out$q_between_pvalue <- num(b$QEp)
  } else {
    gf <- factor(g)
    r <- rma(d$yi, d$vi, mods = ~ gf, method = method, test = test, control = tight)
    r0 <- rma(d$yi, d$vi, mods = ~ gf - 1, method = method, test = test, control = tight)
    for (lv in levs) {
      j <- which(levels(gf) == lv)
      out$groups[[lv]] <- list(estimate = num(r0$beta[j]), se = num(r0$se[j]), ci_low = num(r0$ci.lb[j]),
                               ci_high = num(r0$ci.ub[j]), statistic = num(r0$zval[j]), pvalue = num(r0$pval[j]),
                               tau2 = num(r0$tau2), k = sum(g == lv))
    }
    out$q_between <- num(r$QM); out$q_between_df <- num(r$QMdf); out$q_between_pvalue <- num(r$QMp)
    out$tau2 <- num(r$tau2)
  }
  ov <- rma(d$yi, d$vi, method = method, test = test, control = tight)
  out$overall <- fit_out(ov)
  list(name = paste(dataset, method, test, tau2, sep = "_"), dataset = dataset, method = method, test = test,
       tau2 = tau2, input = list(yi = d$yi, vi = d$vi, groups = g), output = out)
}
subgroups <- list()
for (spec in list(c("bcg", "REML", "z", "separate"), c("bcg", "DL", "z", "separate"),
                  c("bcg", "REML", "knha", "separate"), c("bcg", "REML", "z", "common"),
                  c("bcg", "DL", "z", "common"), c("bcg", "REML", "knha", "common"),
                  c("bcg", "EE", "z", "separate"), c("bcg", "ML", "z", "common"),
                  c("sim30", "REML", "z", "separate"), c("sim30", "REML", "z", "common"),
                  c("small", "REML", "z", "separate"), c("small", "DL", "z", "common"),
                  c("homog", "REML", "z", "separate"), c("homog", "REML", "z", "common"),
                  c("one_study_group", "REML", "z", "separate"), c("one_study_group", "DL", "z", "separate"),
                  c("one_study_group", "REML", "z", "common"), c("one_study_group", "REML", "knha", "common"))) {
  subgroups[[length(subgroups) + 1]] <- sub_case(spec[1], spec[1], spec[2], spec[3], spec[4])
}

# ------------------------------------------------------------------ meta-regression
reg_case <- function(dataset, columns, method, test = "z", intercept = TRUE, newmods = NULL) {
  d <- gen_sets[[dataset]]
  df <- as.data.frame(d$mods[columns], stringsAsFactors = TRUE)
  f <- if (intercept) ~ . else ~ . - 1
  X <- model.matrix(f, data = df)
  Xm <- if (intercept) X[, -1, drop = FALSE] else X
  r <- rma(d$yi, d$vi, mods = Xm, intercept = intercept, method = method, test = test, control = tight)
  out <- list(coef_names = colnames(X), estimate = num(r$beta), se = num(r$se), statistic = num(r$zval),
              pvalue = num(r$pval), ci_low = num(r$ci.lb), ci_high = num(r$ci.ub), vcov = unname(r$vb),
              qm = num(r$QM), qm_df = num(r$QMdf), qm_pvalue = num(r$QMp), qe = num(r$QE), qe_df = r$k - r$p,
              qe_pvalue = num(r$QEp), tau2 = num(r$tau2), i2 = num(r$I2), h2 = num(r$H2),
              r2 = if (is.null(r$R2)) NA else num(r$R2), k = r$k, p = r$p)
  if (!intercept && method %in% c("REML", "ML")) {
    llf <- function(t) as.numeric(logLik(rma(d$yi, d$vi, mods = Xm, intercept = FALSE, method = method, tau2 = t)))
    opt <- optimize(llf, c(0, 10), maximum = TRUE, tol = 1e-12)
    r1 <- rma(d$yi, d$vi, mods = Xm, intercept = FALSE, method = method, test = test, tau2 = opt$maximum)
    out$loglik_max <- list(tau2 = opt$maximum, loglik = opt$objective, loglik_at_metafor_tau2 = as.numeric(logLik(r)),
                           estimate = num(r1$beta), se = num(r1$se))
  }
  if (!is.null(newmods)) {
    pr <- predict(r, newmods = newmods)
    out$predict <- list(newmods = newmods, pred = num(pr$pred), se = num(pr$se), ci_low = num(pr$ci.lb),
                        ci_high = num(pr$ci.ub), pi_low = num(pr$pi.lb), pi_high = num(pr$pi.ub))
  }
  list(name = paste(dataset, paste(columns, collapse = "+"), method, test, if (intercept) "int" else "noint", sep = "_"),
       dataset = dataset, columns = columns, method = method, test = test, intercept = intercept,
       input = list(yi = d$yi, vi = d$vi, moderators = d$mods[columns]), output = out)
}
regression <- list()
for (m in c("REML", "ML", "DL", "EE", "HE", "PM")) {
  regression[[length(regression) + 1]] <- reg_case("bcg", "ablat", m, newmods = matrix(c(10, 30, 50), ncol = 1))
}
regression[[length(regression) + 1]] <- reg_case("bcg", "ablat", "REML", "knha", newmods = matrix(c(10, 30, 50), ncol = 1))
regression[[length(regression) + 1]] <- reg_case("bcg", "ablat", "DL", "knha")
regression[[length(regression) + 1]] <- reg_case("bcg", c("ablat", "year"), "REML")
regression[[length(regression) + 1]] <- reg_case("bcg", c("ablat", "year"), "REML", "knha")
regression[[length(regression) + 1]] <- reg_case("bcg", "alloc", "REML")
regression[[length(regression) + 1]] <- reg_case("bcg", c("ablat", "alloc"), "REML")
regression[[length(regression) + 1]] <- reg_case("bcg", c("ablat", "alloc"), "DL")
regression[[length(regression) + 1]] <- reg_case("bcg", "ablat", "REML", intercept = FALSE)
regression[[length(regression) + 1]] <- reg_case("bcg", "ablat", "DL", intercept = FALSE)
regression[[length(regression) + 1]] <- reg_case("bcg", c("alloc", "ablat"), "DL", intercept = FALSE)
for (m in c("REML", "ML", "DL", "HE", "PM")) {
  regression[[length(regression) + 1]] <- reg_case("sim30", c("x1", "x2"), m, newmods = matrix(c(2, 0, 8, 1), ncol = 2, byrow = TRUE))
}
regression[[length(regression) + 1]] <- reg_case("sim30", c("x1", "x2"), "REML", "knha")
regression[[length(regression) + 1]] <- reg_case("sim30", c("x1", "g"), "REML")
regression[[length(regression) + 1]] <- reg_case("small", "x", "REML")
regression[[length(regression) + 1]] <- reg_case("small", "x", "DL", "knha")
regression[[length(regression) + 1]] <- reg_case("homog", "x", "REML")
regression[[length(regression) + 1]] <- reg_case("homog", "x", "DL")
regression[[length(regression) + 1]] <- reg_case("homog", "x", "ML")
# The remaining tau2 estimators and tests of metafor, with moderators (EB, SJ, HS; t and adhoc)
for (m in c("EB", "SJ", "HS")) {
  regression[[length(regression) + 1]] <- reg_case("bcg", "ablat", m)
  regression[[length(regression) + 1]] <- reg_case("sim30", c("x1", "x2"), m)
}
for (tt in c("t", "adhoc")) {
  regression[[length(regression) + 1]] <- reg_case("bcg", "ablat", "REML", tt)
  regression[[length(regression) + 1]] <- reg_case("sim30", c("x1", "x2"), "DL", tt)
}

out <- list(
  note = "Generated by tests/reference/make_fixtures_toolkit_a.R -- do not edit; regenerate with: Rscript tests/reference/make_fixtures_toolkit_a.R",
  meta = list(r_version = R.version.string, metafor_version = as.character(packageVersion("metafor")),
              jsonlite_version = as.character(packageVersion("jsonlite")), control = tight),
  mantel_haenszel = mh, peto = peto, subgroups = subgroups, regression = regression
)
write_json(out, "tests/reference/metafor_toolkit_a.json", digits = NA, auto_unbox = TRUE, pretty = TRUE,
           na = "null", null = "null")
cat(sprintf("wrote %d MH, %d Peto, %d subgroup and %d regression cases\n",
            length(mh), length(peto), length(subgroups), length(regression)))
