# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_multilevel.R`
#
# Writes, next to this script,
#   metafor_multilevel.json  multilevel / multivariate random-effects models (metafor's rma.mv; tracker
#                            issue 17, item 1): coefficients, their covariance, z / t tests (dfs
#                            "residual" and "contain"), variance components (sigma2, tau2, rho), QE,
#                            QM, ML and REML fit statistics, predictions with CI and PI, BLUPs
#                            (ranef), profile-likelihood CIs of the variance components (confint) and
#                            likelihood-ratio tests between nested models (anova).
# Needs R with metafor (arbiter; 3.8-1 when this file was made), metadat and jsonlite.  Datasets:
# dat.konstantopoulos2011 (three-level), dat.berkey1998 (bivariate, known V), dat.ishak2007 (four
# time points, long format) and a simulated three-level dataset whose school-level variance REML
# estimate is on the boundary (0).  Every fit uses nlminb with rel.tol = 1e-12 (and iteration limits
# 1e4): metafor's optimum to far below the fixture tolerances.  Numbers are written with 17
# significant digits ("%.17g"); NA -> null.  The file carries no date: regenerating with the same
# R/metafor versions gives byte-identical output.
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
numm <- function(m) lapply(seq_len(nrow(m)), function(i) numv(m[i, ]))

CONTROL <- list(optimizer = "nlminb", rel.tol = 1e-12, iter.max = 10000, eval.max = 10000)

# ------------------------------------------------------------------------------ datasets
kon <- dat.konstantopoulos2011
kon$district <- as.character(kon$district)
kon$school <- as.character(kon$school)
kon$year_c <- kon$year - 1990

ber <- dat.berkey1998
ber$trial <- as.character(ber$trial)
ber$year_c <- ber$year - 1983
ber_V <- bldiag(lapply(split(ber[, c("v1i", "v2i")], ber$trial)[unique(ber$trial)], as.matrix))

ish <- dat.ishak2007
ish_long <- do.call(rbind, lapply(seq_len(nrow(ish)), function(i) {
  rows <- lapply(1:4, function(t) {
    y <- ish[i, paste0("y", t, "i")]
    if (is.na(y)) return(NULL)
    data.frame(study = ish$study[i], time = paste0("t", t), yi = y, vi = ish[i, paste0("v", t, "i")],
               mdur = ish$mdur[i], stringsAsFactors = FALSE)
  })
  do.call(rbind, rows)
}))

# simulated three-level data: 25 districts with 2-4 schools, a school-level variance of 0; the seed is
# the first whose REML estimate of the school-level sigma2 is on the boundary
sim_boundary <- function(seed) {
  set.seed(seed)
  nd <- 25
  ns <- sample(2:4, nd, replace = TRUE)
  district <- rep(sprintf("d%02d", seq_len(nd)), ns)
  school <- unlist(lapply(ns, function(n) sprintf("s%d", seq_len(n))))
  vi <- round(runif(length(district), 0.01, 0.1), 4)
  u <- rnorm(nd, 0, sqrt(0.05))[as.integer(factor(district))]
  yi <- round(0.2 + u + rnorm(length(vi), 0, sqrt(vi)), 4)
  data.frame(district = district, school = school, yi = yi, vi = vi, stringsAsFactors = FALSE)
}
seed <- 1L
repeat {
  sim <- sim_boundary(seed)
  r <- try(rma.mv(yi, vi, random = ~ 1 | district/school, data = sim, control = CONTROL), silent = TRUE)
  if (!inherits(r, "try-error") && r$sigma2[2] < 1e-8) break
  seed <- seed + 1L
}
sim_seed <- seed

# ------------------------------------------------------------------------------ one fit -> JSON
fit_json <- function(name, description, res, data, V, groups, newmods = NULL, tau2_levels = NULL,
                     blups = FALSE, settings = list()) {
  X <- res$X
  settings$control <- last_control
  V <- as.matrix(V)
  diagonal <- all(V[upper.tri(V)] == 0)
  out <- list(
    name = name, description = description, settings = settings,
    yi = numv(res$yi), X = numm(X), coef_names = colnames(X),
    groups = lapply(groups, function(g) as.character(data[[g]])),
    method = res$method, test = res$test, dfs = if (is.null(res$dfs)) "residual" else res$dfs,
    beta = numv(res$beta), se = numv(res$se), zval = numv(res$zval), pval = numv(res$pval),
    ci_lb = numv(res$ci.lb), ci_ub = numv(res$ci.ub), vb = numm(res$vb),
    ddf = numv(if (is.null(res$ddf)) NA else res$ddf),
    sigma2 = numv(if (res$withS) res$sigma2 else numeric(0)),
    s_nlevels = if (res$withS) as.integer(res$s.nlevels) else integer(0),
    tau2 = numv(if (res$withG) res$tau2 else numeric(0)),
    rho = numv(if (res$withG) res$rho else numeric(0)),
    struct = if (res$withG) res$struct[1] else NULL,
    g_levels = if (res$withG) as.character(res$g.levels.f[[1]]) else character(0),
    QE = nums(res$QE), QEp = nums(res$QEp), QEdf = res$k - res$p,
    QM = nums(res$QM), QMp = nums(res$QMp), QMdf = numv(res$QMdf),
    fit_ML = numv(res$fit.stats[, "ML"]), fit_REML = numv(res$fit.stats[, "REML"]),
    parms = res$parms, k = res$k, p = res$p
  )
  if (diagonal) out$vi <- numv(diag(V)) else out$V <- numm(V)  # the sampling covariance (diagonal: vi)
  if (!is.null(newmods)) {
    pr <- if (is.null(tau2_levels)) predict(res, newmods = newmods) else
      predict(res, newmods = newmods, tau2.levels = tau2_levels)
    out$newmods <- numm(as.matrix(newmods))
    out$tau2_levels <- tau2_levels
    out$pred <- list(pred = numv(pr$pred), se = numv(pr$se), ci_lb = numv(pr$ci.lb), ci_ub = numv(pr$ci.ub),
                     pi_lb = numv(pr$pi.lb), pi_ub = numv(pr$pi.ub))
  }
  if (blups) {
    re <- ranef(res)
    out$ranef <- lapply(re, function(d) list(names = rownames(d), intrcpt = numv(d$intrcpt), se = numv(d$se),
                                             pi_lb = numv(d$pi.lb), pi_ub = numv(d$pi.ub)))
  }
  out
}

# rma.mv with the tight control; where nlminb reports false convergence there, with rel.tol = 1e-10
# (recorded in the case's settings as 'control')
last_control <- NULL
fitmv <- function(f) {
  r <- try(f(CONTROL), silent = TRUE)
  last_control <<- "nlminb rel.tol=1e-12"
  if (!inherits(r, "try-error")) return(r)
  last_control <<- "nlminb rel.tol=1e-10"
  f(modifyList(CONTROL, list(rel.tol = 1e-10)))
}

cases <- list()
add <- function(x) cases[[length(cases) + 1L]] <<- x

for (meth in c("REML", "ML")) {
  r <- fitmv(function(ctl) rma.mv(yi, vi, random = ~ 1 | district/school, data = kon, method = meth, control = ctl))
  add(fit_json(paste0("konstantopoulos2011_", tolower(meth)),
               "Konstantopoulos 2011: three-level model, ~ 1 | district/school", r, kon, diag(kon$vi),
               c("district", "school"), newmods = NULL, blups = TRUE,
               settings = list(random = "~ 1 | district/school")))
}
r <- fitmv(function(ctl) rma.mv(yi, vi, mods = ~ year_c, random = ~ 1 | district/school, data = kon, test = "t", control = ctl))
add(fit_json("konstantopoulos2011_year_t", "Konstantopoulos 2011: moderator year - 1990, t tests (dfs = residual)",
             r, kon, diag(kon$vi), c("district", "school"), newmods = matrix(c(-10, 0, 10), ncol = 1),
             settings = list(random = "~ 1 | district/school", mods = "~ year_c", test = "t")))
r <- fitmv(function(ctl) rma.mv(yi, vi, mods = ~ year_c, random = ~ 1 | district/school, data = kon, test = "t", dfs = "contain",
            control = ctl))
add(fit_json("konstantopoulos2011_year_contain", "Konstantopoulos 2011: year - 1990, t tests, dfs = contain",
             r, kon, diag(kon$vi), c("district", "school"), newmods = matrix(c(-10, 0, 10), ncol = 1),
             settings = list(random = "~ 1 | district/school", mods = "~ year_c", test = "t", dfs = "contain")))

for (st in c("UN", "CS", "HCS", "DIAG", "ID")) {
  r <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = st, data = ber,
              control = ctl))
  tl <- if (r$tau2s > 1) c("AL", "PD") else NULL
  add(fit_json(paste0("berkey1998_", tolower(st)), paste0("Berkey 1998: bivariate model, ~ outcome | trial, struct ", st),
               r, ber, ber_V, c("outcome", "trial"), newmods = diag(2), tau2_levels = tl,
               blups = st == "UN",
               settings = list(random = "~ outcome | trial", struct = st, mods = "~ outcome - 1")))
}
r <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome + outcome:year_c - 1, random = ~ outcome | trial, struct = "UN",
            data = ber, method = "ML", control = ctl))
add(fit_json("berkey1998_un_year_ml", "Berkey 1998: UN, moderators outcome and outcome x (year - 1983), ML",
             r, ber, ber_V, c("outcome", "trial"), newmods = rbind(c(1, 0, 2, 0), c(0, 1, 0, 2)),
             tau2_levels = c("AL", "PD"),
             settings = list(random = "~ outcome | trial", struct = "UN", method = "ML",
                             mods = "~ outcome + outcome:year_c - 1")))
r <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "UN", data = ber, test = "t",
            dfs = "contain", control = ctl))
add(fit_json("berkey1998_un_contain", "Berkey 1998: UN, t tests, dfs = contain", r, ber, ber_V, c("outcome", "trial"),
             settings = list(random = "~ outcome | trial", struct = "UN", test = "t", dfs = "contain")))

# (with struct "UN" and "HCS" the REML optimum has every correlation at 1: a singular G, the boundary)
for (st in c("UN", "HCS", "DIAG")) {
  r <- fitmv(function(ctl) rma.mv(yi, vi, mods = ~ time - 1, random = ~ time | study, struct = st, data = ish_long, control = ctl))
  add(fit_json(paste0("ishak2007_", tolower(st)), paste0("Ishak 2007: four time points, ~ time | study, struct ", st),
               r, ish_long, diag(ish_long$vi), c("time", "study"),
               settings = list(random = "~ time | study", struct = st, mods = "~ time - 1")))
}
r <- fitmv(function(ctl) rma.mv(yi, vi, random = list(~ 1 | study, ~ time | study), struct = "ID", data = ish_long, control = ctl))
add(fit_json("ishak2007_study_plus_id", "Ishak 2007: ~ 1 | study plus ~ time | study (ID)", r, ish_long,
             diag(ish_long$vi), c("study", "time", "study"),
             settings = list(random = "list(~ 1 | study, ~ time | study)", struct = "ID")))

r <- fitmv(function(ctl) rma.mv(yi, vi, random = ~ 1 | district/school, data = sim, control = ctl))
add(fit_json("simulated_boundary", paste0("simulated three-level data (seed ", sim_seed,
                                          "): school-level sigma2 estimate on the boundary"),
             r, sim, diag(sim$vi), c("district", "school"), newmods = NULL,
             settings = list(random = "~ 1 | district/school", seed = sim_seed)))

# profile-likelihood CIs of the variance components (confint, root finder tol = 1e-10), from fits at
# metafor's default control (the refits behind confint fail with the tight nlminb control)
ci_json <- function(res) {
  ci <- suppressWarnings(confint(res, control = list(tol = 1e-10)))
  parts <- if (!is.null(ci$random)) list(ci) else Filter(function(z) is.list(z) && !is.null(z$random), ci)
  lapply(unname(parts), function(z) list(row = rownames(z$random)[1], estimate = nums(z$random[1, 1]),
                                         ci_lb = nums(z$random[1, 2]), ci_ub = nums(z$random[1, 3])))
}
ci_fits <- list(
  konstantopoulos2011_reml = rma.mv(yi, vi, random = ~ 1 | district/school, data = kon),
  berkey1998_un = rma.mv(yi, ber_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "UN", data = ber),
  berkey1998_cs = rma.mv(yi, ber_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "CS", data = ber),
  simulated_boundary = rma.mv(yi, vi, random = ~ 1 | district/school, data = sim)
)
for (nm in names(ci_fits)) {
  i <- which(vapply(cases, function(z) z$name, "") == nm)
  cases[[i]]$confint <- ci_json(ci_fits[[nm]])
}

# likelihood-ratio tests between nested models (anova(full, reduced)), at the tight control
lrt_json <- function(name, full, reduced) {
  a <- anova(full, reduced)
  list(name = name, LRT = nums(a$LRT), pval = nums(a$pval), df = a$parms.f - a$parms.r,
       fit_full = numv(a$fit.stats.f), fit_reduced = numv(a$fit.stats.r))
}
kon_district <- fitmv(function(ctl) rma.mv(yi, vi, random = ~ 1 | district, data = kon, control = ctl))
kon_full <- fitmv(function(ctl) rma.mv(yi, vi, random = ~ 1 | district/school, data = kon, control = ctl))
ber_un <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "UN",
                                     data = ber, control = ctl))
ber_cs <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "CS",
                                     data = ber, control = ctl))
ber_ml <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome + outcome:year_c - 1, random = ~ outcome | trial,
                                     struct = "UN", data = ber, method = "ML", control = ctl))
ber_ml0 <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome - 1, random = ~ outcome | trial,
                                      struct = "UN", data = ber, method = "ML", control = ctl))
lrts <- list(
  lrt_json("konstantopoulos2011_reml_vs_district", kon_full, kon_district),
  lrt_json("berkey1998_un_vs_cs", ber_un, ber_cs),
  lrt_json("berkey1998_un_year_ml_vs_un_ml", ber_ml, ber_ml0)
)

write_json_file(list(
  meta = list(
    generator = "tests/reference/make_fixtures_multilevel.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    control = "nlminb, rel.tol = 1e-12, iter.max = eval.max = 1e4"
  ),
  cases = cases,
  likelihood_ratio_tests = lrts
), file.path(out_dir, "metafor_multilevel.json"))
