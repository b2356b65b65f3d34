# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_genq.R`
#
# Writes, next to this script,
#   metafor_genq.json  the generalised-Q estimators of rma.uni with user weights (tracker issue 14, item 4):
#                      method = "GENQ" and "GENQM" (median-unbiased), intercept-only and with one or two
#                      moderators, weights 1/vi, equal and sqrt(n), tests z and knha; user weights under
#                      REML and EE with moderators (the weighted, non-inverse-variance coefficient covariance);
#                      confint() of every GENQ/GENQM fit (the generalised-Q interval for tau2, Jackson 2013).
#
# Needs R with metafor (arbiter; 3.8-1 when this file was made), metadat, jsonlite and CompQuadForm
# (method = "GENQM" and confint() of GENQ fits evaluate the weighted chi-square distribution with
# CompQuadForm::farebrother).  CompQuadForm is not packaged in Debian; it was installed from the source
# of CRAN's GitHub mirror (github.com/cran/CompQuadForm, version 1.4.3): the source tree exported with
# `git archive HEAD | tar -x -C /tmp/cqf` and `R CMD INSTALL /tmp/cqf` (small C code, no dependencies).
# Numbers are written with 17 significant digits ("%.17g"); NA -> null.  The file carries no date:
# regenerating with the same R/package versions gives byte-identical output.
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
  library(CompQuadForm)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."
source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch

# ------------------------------------------------------------------------------ datasets
# each: yi, vi, n (for the sqrt(n) weights) and a data frame of moderator columns
datasets <- list()
add_ds <- function(name, description, yi, vi, n, mods, formulas) {
  datasets[[name]] <<- list(name = name, description = description, yi = as.numeric(yi), vi = as.numeric(vi),
                            n = as.numeric(n), mods = mods, formulas = formulas)
}
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_ds("bcg", "dat.bcg, log risk ratios; n = total sample size", bcg$yi, bcg$vi,
       with(dat.bcg, tpos + tneg + cpos + cneg), dat.bcg[, c("ablat", "year")],
       list(one = ~ ablat, two = ~ ablat + year))
hs <- dat.hackshaw1998
add_ds("hackshaw1998", "dat.hackshaw1998, log odds ratios; n = cases", hs$yi, hs$vi, hs$cases,
       data.frame(year = hs$year, design = hs$design), list(one = ~ year, two = ~ year + factor(design)))
mo <- escalc(measure = "ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add_ds("molloy2014", "dat.molloy2014, Fisher z of correlations; n = ni", mo$yi, mo$vi, mo$ni,
       dat.molloy2014[, c("meanage", "quality")], list(one = ~ meanage, two = ~ meanage + quality))
bd <- dat.bangertdrowns2004[!is.na(dat.bangertdrowns2004$length), ]
add_ds("bangertdrowns2004", "dat.bangertdrowns2004 (studies with 'length'), SMDs; n = ni", bd$yi, bd$vi, bd$ni,
       bd[, c("length", "grade")], list(one = ~ length, two = ~ length + grade))

weightings <- list(
  inverse_variance = function(d) 1 / d$vi,
  equal = function(d) rep(1, length(d$yi)),
  sqrt_n = function(d) sqrt(d$n)
)

# ------------------------------------------------------------------------------ fits
tight <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

fit_block <- function(args, with_confint) {
  r <- catch(do.call(rma.uni, c(args, list(control = tight))))
  f <- r$value
  if (inherits(f, "fit_error")) return(list(error = f$msg, warnings = r$warnings))
  out <- list(error = NULL, warnings = r$warnings,
              beta = numv(f$beta), se = numv(f$se), vcov = numv(t(vcov(f))), zval = numv(f$zval),
              pval = numv(f$pval), ci_lb = numv(f$ci.lb), ci_ub = numv(f$ci.ub),
              tau2 = nums(f$tau2), se_tau2 = nums(f$se.tau2), QE = nums(f$QE), QEp = nums(f$QEp),
              QM = nums(f$QM), QMp = nums(f$QMp), I2 = nums(f$I2), H2 = nums(f$H2),
              R2 = nums(if (is.null(f$R2)) NA else f$R2), s2w = nums(f$s2w), weights = numv(weights(f)))
  if (with_confint) {
    ci <- catch(confint(f, control = list(tol = 1e-12)))
    if (inherits(ci$value, "fit_error")) {
      out$confint_error <- ci$value$msg
    } else {
      out$confint_tau2 <- numv(ci$value$random["tau^2", c("ci.lb", "ci.ub")])
      out$confint_warnings <- ci$warnings
    }
    out$confint_tau2_tight <- numv(genq_bounds_tight(args$yi, args$vi, args$mods, args$weights))
  }
  out
}

# confint()'s GENQ branch calls uniroot() without its control's tol (3.8-1 and 5.x alike), so its bounds
# are accurate to uniroot's default (.Machine$double.eps^0.25 ~ 1.2e-4, absolute).  The same bounds
# solved tightly: metafor's own tail probability (metafor:::.GENQ.func, CompQuadForm::farebrother) at the
# targets confint() uses (upper tail = 0.025 for the lower bound, 0.975 for the upper), with
# uniroot(tol = 1e-12) on [0, 100]; a bound is 0 when the tail at tau2 = 0 is already above its target.
genq_bounds_tight <- function(yi, vi, mods, a) {
  k <- length(yi)
  X <- if (is.null(mods)) matrix(1, k, 1) else cbind(1, mods)
  p <- ncol(X)
  A <- diag(a, nrow = k)
  P <- A - A %*% X %*% solve(t(X) %*% A %*% X) %*% t(X) %*% A
  Q <- c(t(yi) %*% P %*% yi)
  tail <- function(t2) metafor:::.GENQ.func(t2, P = P, vi = vi, Q = Q, level = 0, k = k, p = p, getlower = TRUE)
  bound <- function(target) {
    if (tail(0) >= target) return(0)
    uniroot(function(t2) tail(t2) - target, c(0, 100), tol = 1e-12, maxiter = 10000)$root
  }
  c(bound(0.025), bound(0.975))
}

cases <- list()
for (d in datasets) {
  for (mname in c("none", "one", "two")) {
    frm <- if (mname == "none") NULL else d$formulas[[mname]]
    base <- list(yi = d$yi, vi = d$vi)
    if (!is.null(frm)) base$mods <- model.matrix(frm, data = d$mods)[, -1, drop = FALSE]
    for (wname in names(weightings)) {
      a <- weightings[[wname]](d)
      for (method in c("GENQ", "GENQM")) {
        for (test in c("z", "knha")) {
          block <- fit_block(c(base, list(method = method, weights = a, test = test)), with_confint = test == "z")
          cases[[length(cases) + 1L]] <- c(list(dataset = d$name, moderators = mname, weighting = wname,
                                                method = method, test = test), block)
        }
      }
    }
    # user weights under estimators that do not use them for tau2 (only beta, its covariance and, for EE,
    # the R^2 of lm(yi ~ X, weights = weights) use them)
    for (method in c("REML", "EE")) {
      block <- fit_block(c(base, list(method = method, weights = sqrt(d$n), test = "z")), with_confint = FALSE)
      cases[[length(cases) + 1L]] <- c(list(dataset = d$name, moderators = mname, weighting = "sqrt_n",
                                            method = method, test = "z"), block)
    }
  }
}

# metafor's refusals (bad input), for the record
errors <- list(
  genqm_without_weights = catch(rma.uni(bcg$yi, bcg$vi, mods = ~ dat.bcg$ablat, method = "GENQM"))$value$msg,
  genq_without_weights = catch(rma.uni(bcg$yi, bcg$vi, mods = ~ dat.bcg$ablat, method = "GENQ"))$value$msg
)

datasets_json <- lapply(datasets, function(d) {
  mats <- lapply(d$formulas, function(frm) {
    x <- model.matrix(frm, data = d$mods)[, -1, drop = FALSE]
    list(names = colnames(x), columns = lapply(seq_len(ncol(x)), function(j) numv(x[, j])))
  })
  list(name = d$name, description = d$description, k = length(d$yi), yi = numv(d$yi), vi = numv(d$vi),
       n = numv(d$n), formulas = lapply(d$formulas, function(f) paste(deparse(f), collapse = "")), moderators = mats)
})
names(datasets_json) <- NULL

write_json_file(list(
  meta = list(
    generator = "tests/reference/make_fixtures_genq.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    compquadform_version = as.character(packageVersion("CompQuadForm")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    number_format = "%.17g; NA -> null, NaN -> NaN, Inf -> Infinity",
    function_called = "rma.uni(yi, vi, mods = X, method, weights, test, control = tight); confint(fit, control = list(tol = 1e-12))",
    controls = list(tight = tight),
    notes = c(
      "moderators: 'none' (intercept only), 'one', 'two' (the dataset's formulas; X without its intercept column in datasets[].moderators).",
      "weighting: 'inverse_variance' (1/vi), 'equal' (1), 'sqrt_n' (sqrt of the dataset's n).",
      "vcov: row-major; confint_tau2: confint()'s generalised-Q bounds for tau2 (z fits only; uniroot at its default tol ~1.2e-4, absolute).",
      "confint_tau2_tight: the same bounds from metafor:::.GENQ.func solved with uniroot(tol = 1e-12) (see the script).",
      "GENQM and confint() use CompQuadForm::farebrother (eps = 1e-10) inside uniroot(tol = 1e-12).")),
  datasets = datasets_json,
  cases = cases,
  errors = errors
), file.path(out_dir, "metafor_genq.json"))
