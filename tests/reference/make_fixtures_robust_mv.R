# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_robust_mv.R`
#
# Writes, next to this script,
#   metafor_robust_mv.json  cluster-robust inference for multilevel / multivariate models (tracker
#                           issue 17, item 3): metafor's robust() of rma.mv fits, CR1 (the default,
#                           adjust = TRUE: t tests on n - p df, F test of the moderators) and CR2
#                           (clubSandwich = TRUE: Satterthwaite df, HTZ Wald test), on
#                           dat.konstantopoulos2011 (~ 1 | district/school, clusters = district; with and
#                           without the moderator year - 1990) and dat.berkey1998 (~ outcome | trial,
#                           struct UN, clusters = trial; with and without outcome x (year - 1983)).
#                           Each case also records the fit (beta, sigma2, tau2, rho) so that the tests
#                           can evaluate metaacu at metafor's variance estimates.
# Needs R with metafor (arbiter; 3.8-1 when this file was made), metadat, clubSandwich (Debian:
# r-cran-clubsandwich) and jsonlite.  Every fit uses nlminb with rel.tol = 1e-12 (iteration limits
# 1e4), as make_fixtures_multilevel.R.  Numbers are written with 17 significant digits ("%.17g");
# NA -> null.  The file carries no date: regenerating with the same versions gives identical output.
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."
source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch
numm <- function(m) lapply(seq_len(nrow(m)), function(i) numv(m[i, ]))

CONTROL <- list(optimizer = "nlminb", rel.tol = 1e-12, iter.max = 10000, eval.max = 10000)

kon <- dat.konstantopoulos2011
kon$district <- as.character(kon$district)
kon$school <- as.character(kon$school)
kon$year_c <- kon$year - 1990

ber <- dat.berkey1998
ber$trial <- as.character(ber$trial)
ber$year_c <- ber$year - 1983
ber_V <- bldiag(lapply(split(ber[, c("v1i", "v2i")], ber$trial)[unique(ber$trial)], as.matrix))

one <- function(r) list(se = numv(r$se), zval = numv(r$zval), pval = numv(r$pval), dfs = numv(r$dfs),
                        ci_lb = numv(r$ci.lb), ci_ub = numv(r$ci.ub), vb = numm(r$vb), QM = nums(r$QM),
                        QMdf = numv(r$QMdf), QMp = nums(r$QMp))

case_json <- function(name, description, res, clv, groups, settings) {
  settings$control <- res$control
  res <- res$res
  r1 <- robust(res, cluster = clv)
  r2 <- robust(res, cluster = clv, clubSandwich = TRUE)
  V <- as.matrix(res$V)
  out <- list(
    name = name, description = description, settings = settings,
    yi = numv(res$yi), X = numm(res$X), coef_names = colnames(res$X), groups = groups,
    cluster = as.character(clv), method = res$method,
    beta = numv(res$beta),
    sigma2 = numv(if (res$withS) res$sigma2 else numeric(0)),
    tau2 = numv(if (res$withG) res$tau2 else numeric(0)),
    rho = numv(if (res$withG) res$rho else numeric(0)),
    struct = if (res$withG) res$struct[1] else NULL,
    CR1 = one(r1), CR2 = one(r2))
  if (all(V[upper.tri(V)] == 0)) out$vi <- numv(diag(V)) else out$V <- numm(V)
  out
}

# rma.mv with the tight control; where nlminb reports false convergence there, with rel.tol = 1e-10
# (recorded in the case's settings as 'control')
fitmv <- function(f) {
  r <- try(f(CONTROL), silent = TRUE)
  if (!inherits(r, "try-error")) return(list(res = r, control = "nlminb rel.tol=1e-12"))
  list(res = f(modifyList(CONTROL, list(rel.tol = 1e-10))), control = "nlminb rel.tol=1e-10")
}

cases <- list()
add <- function(x) cases[[length(cases) + 1L]] <<- x

res <- fitmv(function(ctl) rma.mv(yi, vi, random = ~ 1 | district/school, data = kon, control = ctl))
add(case_json("konstantopoulos2011_int", "Konstantopoulos 2011: ~ 1 | district/school, clusters = district",
              res, kon$district, list(district = kon$district, school = kon$school),
              list(random = "~ 1 | district/school", cluster = "district")))
res <- fitmv(function(ctl) rma.mv(yi, vi, mods = ~ year_c, random = ~ 1 | district/school, data = kon, control = ctl))
add(case_json("konstantopoulos2011_year", "Konstantopoulos 2011: moderator year - 1990, clusters = district",
              res, kon$district, list(district = kon$district, school = kon$school),
              list(random = "~ 1 | district/school", mods = "~ year_c", cluster = "district")))
res <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome - 1, random = ~ outcome | trial, struct = "UN", data = ber,
                                  control = ctl))
add(case_json("berkey1998_un", "Berkey 1998: bivariate, ~ outcome | trial, struct UN, clusters = trial",
              res, ber$trial, list(outcome = as.character(ber$outcome), trial = ber$trial),
              list(random = "~ outcome | trial", struct = "UN", mods = "~ outcome - 1", cluster = "trial")))
res <- fitmv(function(ctl) rma.mv(yi, ber_V, mods = ~ outcome + outcome:year_c - 1, random = ~ outcome | trial,
                                  struct = "UN", data = ber, control = ctl))
add(case_json("berkey1998_un_year", "Berkey 1998: UN, moderators outcome and outcome x (year - 1983), clusters = trial",
              res, ber$trial, list(outcome = as.character(ber$outcome), trial = ber$trial),
              list(random = "~ outcome | trial", struct = "UN", mods = "~ outcome + outcome:year_c - 1",
                   cluster = "trial")))

meta <- list(metafor_version = as.character(packageVersion("metafor")),
             clubSandwich_version = as.character(packageVersion("clubSandwich")),
             r_version = paste(R.version$major, R.version$minor, sep = "."))
write_json_file(list(meta = meta, cases = cases), file.path(out_dir, "metafor_robust_mv.json"))
