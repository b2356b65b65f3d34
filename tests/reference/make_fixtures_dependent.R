# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_dependent.R`
#
# Writes, next to this script,
#   metafor_dependent.json  the pieces around dependent effect sizes (tracker issue 17, items 2-5):
#     gleser     Gleser & Olkin (2009) shared-control covariances (RD, log OR, log RR, arcsine, SMD) and
#                the multiple-endpoint SMD covariance, on the datasets of metafor's analysis example
#                (tests/testthat/test_analysis_example_gleser2009.r; Handbook of Research Synthesis and
#                Meta-Analysis, 2nd ed., ch. 19, pp. 357-376), with rma.mv(method = "EE") on each V.
#     vcalc      vcalc(vi, cluster, obs, rho) and vcalc(vi, cluster, grp1, grp2, w1, w2) on simulated
#                multi-outcome and multi-arm data (seeded).
#     robust     robust(res, cluster) (CR1, adjust = TRUE), robust(..., adjust = FALSE) (CR0) and
#                robust(..., clubSandwich = TRUE) (CR2, Satterthwaite df, HTZ Wald test) on dat.bcg;
#                clubSandwich::Wald_test(test = "HTZ") for stated constraints.
#     permutest  permutest(res, exact = TRUE) on dat.bcg subsets, and seeded random permutest runs.
#     formula    rma(yi, vi, mods = ~ ablat + I(year - 1960) + factor(alloc)), anova(res, btt = ...) and
#                anova(res, X = ...) (linear contrasts).
# Needs R with metafor (arbiter; 3.8-1 when this file was made), metadat, clubSandwich (Debian:
# r-cran-clubsandwich) and jsonlite.  metadat 1.2-0 (Debian) has no dat.gleser2009, so the Gleser &
# Olkin data are typed in as in metafor's test file above.  The made-up cluster column of dat.bcg is
# `cl` below.  Numbers are written with 17 significant digits ("%.17g"); NA -> null, NaN -> NaN,
# +-Inf -> +-Infinity.  The file carries no date: regenerating with the same R/package versions gives
# byte-identical output.
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(clubSandwich)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."

# ------------------------------------------------------------------------------ JSON helpers
# fixture_helpers.R: numbers formatted with 17 significant digits and passed through verbatim
source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch
numm <- function(m) {  # a matrix as a list of rows
  m <- as.matrix(m)
  structure(paste0("[", paste(apply(m, 1, function(r) unclass(numv(r))), collapse = ","), "]"), class = "json")
}

tight <- list(threshold = 1e-12, tol = 1e-12, maxiter = 10000)

# ============================================================================== Gleser & Olkin (2009)
gleser <- list()
bin <- data.frame(study = c(1, 1, 2, 3, 3, 3), trt = c(1, 2, 1, 1, 2, 3),
                  ai = c(40, 40, 10, 150, 150, 150), n1i = c(1000, 1000, 200, 2000, 2000, 2000),
                  ci = c(100, 150, 15, 40, 80, 50), n2i = c(4000, 4000, 400, 1000, 1000, 1000))
# the shared (control) group is group 1 (ai / n1i): one row per treatment arm, yi = group 1 - group 2
bin$pci <- bin$ai / bin$n1i
cov_shared <- list(
  RD = function(x) x$pci[1] * (1 - x$pci[1]) / x$n1i[1],
  OR = function(x) 1 / (x$n1i[1] * x$pci[1] * (1 - x$pci[1])),
  RR = function(x) (1 - x$pci[1]) / (x$n1i[1] * x$pci[1]),
  AS = function(x) 1 / (4 * x$n1i[1]))
for (m in names(cov_shared)) {
  d <- escalc(measure = m, ai = ai, ci = ci, n1i = n1i, n2i = n2i, data = bin)
  f <- cov_shared[[m]]
  V <- bldiag(lapply(split(d, d$study), function(x) {
    v <- matrix(f(x), nrow(x), nrow(x)); diag(v) <- x$vi; v }))
  fit <- rma.mv(yi, V, mods = ~ factor(trt) - 1, data = d, method = "EE")
  gleser[[length(gleser) + 1L]] <- list(
    name = paste0("multiple_treatment_", m), measure = m,
    source = "Gleser & Olkin 2009, Table 19.2 data (pp. 360-365)",
    study = numv(d$study), trt = numv(d$trt), ai = numv(d$ai), n1i = numv(d$n1i), ci = numv(d$ci),
    n2i = numv(d$n2i), yi = numv(d$yi), vi = numv(d$vi), V = numm(V),
    ee_beta = numv(coef(fit)), ee_vcov = numm(vcov(fit)), ee_QE = nums(fit$QE))
}
smd <- data.frame(study = c(1, 1, 2, 3, 4, 4), trt = c(1, 2, 1, 1, 1, 2),
                  m1i = c(7.87, 4.35, 9.32, 8.08, 7.44, 5.34), m2i = c(-1.36, -1.36, 0.98, 1.17, 0.45, 0.45),
                  sdpi = c(4.2593, 4.2593, 2.8831, 3.1764, 2.9344, 2.9344),
                  n1i = c(25, 22, 38, 50, 30, 30), n2i = c(25, 25, 40, 50, 30, 30))
smd$Ni <- unlist(lapply(split(smd, smd$study), function(x) rep(sum(x$n1i) + x$n2i[1], each = nrow(x))))
smd$yi <- with(smd, (m1i - m2i) / sdpi)
smd$vi <- with(smd, 1 / n1i + 1 / n2i + yi^2 / (2 * Ni))
V <- bldiag(lapply(split(smd, smd$study), function(x) {
  v <- matrix(1 / x$n2i[1] + outer(x$yi, x$yi, "*") / (2 * x$Ni[1]), nrow(x), nrow(x)); diag(v) <- x$vi; v }))
fit <- rma.mv(yi, V, mods = ~ factor(trt) - 1, data = smd, method = "EE")
gleser[[length(gleser) + 1L]] <- list(
  name = "multiple_treatment_SMD", measure = "SMD",
  source = "Gleser & Olkin 2009, SMD multiple-treatment example (pp. 364-367); vi = 1/n1 + 1/n2 + d^2/(2N)",
  study = numv(smd$study), trt = numv(smd$trt), n1i = numv(smd$n1i), n2i = numv(smd$n2i), Ni = numv(smd$Ni),
  yi = numv(smd$yi), vi = numv(smd$vi), V = numm(V),
  ee_beta = numv(coef(fit)), ee_vcov = numm(vcov(fit)), ee_QE = nums(fit$QE))
ep <- data.frame(school = c(1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7), outcome = rep(c("math", "reading"), times = 7),
                 m1i = c(2.3, 2.5, 2.4, 1.3, 2.5, 2.4, 3.3, 1.7, 1.1, 2.0, 2.8, 2.1, 1.7, 0.6),
                 m2i = c(10.3, 6.6, 9.7, 3.1, 8.7, 3.7, 7.5, 8.5, 2.2, 2.1, 3.8, 1.4, 1.8, 3.9),
                 sdpi = c(8.2, 7.3, 8.3, 8.9, 8.5, 8.3, 7.7, 9.8, 9.1, 10.4, 9.6, 7.9, 9.2, 10.2),
                 ri = rep(c(.55, .43, .57, .66, .51, .59, .49), each = 2),
                 n1i = rep(c(22, 21, 26, 18, 38, 42, 39), each = 2), n2i = rep(c(24, 21, 23, 18, 36, 42, 38), each = 2))
# unrounded (metafor's test file rounds yi, vi and covi to the chapter's printed digits)
ep$yi <- with(ep, (m2i - m1i) / sdpi)
ep$vi <- with(ep, 1 / n1i + 1 / n2i + yi^2 / (2 * (n1i + n2i)))
ep$covi <- with(ep, (1 / n1i + 1 / n2i) * ri + (rep(sapply(split(ep$yi, ep$school), prod), each = 2) /
                                                  (2 * (n1i + n2i))) * ri^2)
V <- bldiag(lapply(split(ep, ep$school), function(x) matrix(c(x$vi[1], x$covi[1], x$covi[2], x$vi[2]), nrow = 2)))
fit <- rma.mv(yi, V, mods = ~ outcome - 1, data = ep, method = "EE")
gleser[[length(gleser) + 1L]] <- list(
  name = "multiple_endpoint_SMD", measure = "SMD",
  source = "Gleser & Olkin 2009, multiple-endpoint example (pp. 368-371); cov = (1/n1 + 1/n2) r + d1 d2 r^2 / (2 (n1 + n2))",
  study = numv(ep$school), outcome = ep$outcome, ri = numv(ep$ri), n1i = numv(ep$n1i), n2i = numv(ep$n2i),
  yi = numv(ep$yi), vi = numv(ep$vi), V = numm(V),
  ee_beta = numv(coef(fit)), ee_vcov = numm(vcov(fit)), ee_QE = nums(fit$QE))

# ============================================================================== vcalc
set.seed(20261702)
vcalc_cases <- list()
# several outcomes per study (1 to 4), one common correlation; then a correlation matrix over outcomes
ks <- c(1, 2, 3, 4, 2, 3, 1, 4)
mo <- data.frame(study = rep(seq_along(ks), ks), outcome = unlist(lapply(ks, function(k) sample(c("a", "b", "c", "d"), k))))
mo$vi <- round(runif(nrow(mo), 0.01, 0.2), 4)
for (rho in c(0.6, -0.2)) {
  V <- vcalc(vi, cluster = study, obs = outcome, rho = rho, data = mo)
  vcalc_cases[[length(vcalc_cases) + 1L]] <- list(
    name = paste0("obs_rho_", rho), call = sprintf("vcalc(vi, cluster = study, obs = outcome, rho = %g)", rho),
    study = numv(mo$study), obs = mo$outcome, vi = numv(mo$vi), rho = nums(rho), V = numm(V))
}
Rm <- matrix(c(1, 0.5, 0.3, 0.2, 0.5, 1, 0.4, 0.1, 0.3, 0.4, 1, 0.6, 0.2, 0.1, 0.6, 1), 4, 4,
             dimnames = list(c("a", "b", "c", "d"), c("a", "b", "c", "d")))
V <- vcalc(vi, cluster = study, obs = outcome, rho = Rm, data = mo)
vcalc_cases[[length(vcalc_cases) + 1L]] <- list(
  name = "obs_rho_matrix", call = "vcalc(vi, cluster = study, obs = outcome, rho = R) with R over outcomes a-d",
  study = numv(mo$study), obs = mo$outcome, vi = numv(mo$vi), rho_matrix = numm(Rm), rho_levels = rownames(Rm),
  V = numm(V))
# multi-arm trials: arms 1..m against a shared control (grp2 = 0), group sizes w1 / w2
arms <- c(2, 1, 3, 4, 2)
ma <- data.frame(study = rep(seq_along(arms), arms), trt = unlist(lapply(arms, seq_len)))
ma$ctrl <- 0
ma$n_trt <- sample(20:80, nrow(ma), replace = TRUE)
ma$n_ctrl <- rep(sample(30:90, length(arms)), arms)
ma$vi <- with(ma, 1 / n_trt + 1 / n_ctrl + runif(nrow(ma), 0, 0.01))
V <- vcalc(vi, cluster = study, grp1 = trt, grp2 = ctrl, w1 = n_trt, w2 = n_ctrl, data = ma)
vcalc_cases[[length(vcalc_cases) + 1L]] <- list(
  name = "multi_arm_shared_control", call = "vcalc(vi, cluster = study, grp1 = trt, grp2 = ctrl, w1 = n_trt, w2 = n_ctrl)",
  study = numv(ma$study), grp1 = numv(ma$trt), grp2 = numv(ma$ctrl), w1 = numv(ma$n_trt), w2 = numv(ma$n_ctrl),
  vi = numv(ma$vi), V = numm(V))

# ============================================================================== robust
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$cl <- c(1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 6, 6, 7)  # made-up clusters: sizes 2, 2, 2, 2, 1, 3, 1
robust_cases <- list()
models <- list(
  list(name = "int_REML", mods = NULL, method = "REML"),
  list(name = "ablat_REML", mods = ~ ablat, method = "REML"),
  list(name = "ablat_year_DL", mods = ~ ablat + year, method = "DL"),
  list(name = "ablat_EE", mods = ~ ablat, method = "EE"))
clusters <- list(cl = bcg$cl, alloc = as.character(bcg$alloc))
for (mdl in models) for (cn in names(clusters)) {
  if (cn == "alloc" && !is.null(mdl$mods)) next  # 3 clusters: too few for p = 2
  res <- if (is.null(mdl$mods)) rma(yi, vi, data = bcg, method = mdl$method, control = tight) else
    rma(yi, vi, mods = mdl$mods, data = bcg, method = mdl$method, control = tight)
  clv <- clusters[[cn]]  # not `cl`: robust() looks a cluster name up in the model's data first
  one <- function(r) list(se = numv(r$se), zval = numv(r$zval), pval = numv(r$pval), dfs = numv(r$dfs),
                          ci_lb = numv(r$ci.lb), ci_ub = numv(r$ci.ub), vb = numm(r$vb), QM = nums(r$QM),
                          QMdf = numv(r$QMdf), QMp = nums(r$QMp))
  r1 <- robust(res, cluster = clv)
  r0 <- robust(res, cluster = clv, adjust = FALSE)
  r2 <- robust(res, cluster = clv, clubSandwich = TRUE)
  robust_cases[[length(robust_cases) + 1L]] <- list(
    name = paste0(mdl$name, "_", cn), mods = if (is.null(mdl$mods)) NULL else deparse(mdl$mods[[2]]),
    method = mdl$method, cluster = cn, beta = numv(res$beta), tau2 = nums(res$tau2), CR1 = one(r1), CR0 = one(r0),
    CR2 = one(r2))
}
res <- rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "REML", control = tight)
vb2 <- vcovCR(res, cluster = bcg$cl, type = "CR2")
wt <- list(
  list(name = "ablat_year", C = rbind(c(0, 1, 0), c(0, 0, 1))),
  list(name = "ablat_only", C = rbind(c(0, 1, 0))),
  list(name = "contrast", C = rbind(c(0, 1, -1))))
wald_cases <- lapply(wt, function(w) {
  r <- Wald_test(res, constraints = w$C, vcov = vb2, test = "HTZ")
  list(name = w$name, C = numm(w$C), Fstat = nums(r$Fstat), delta = nums(r$delta), df_num = nums(r$df_num),
       df_denom = nums(r$df_denom), p_val = nums(r$p_val))
})
robust_data <- list(yi = numv(bcg$yi), vi = numv(bcg$vi), ablat = numv(bcg$ablat), year = numv(bcg$year),
                    alloc = as.character(bcg$alloc), cl = numv(bcg$cl))

# ============================================================================== permutest
perm_cases <- list()
sub_int <- bcg[1:8, ]
res <- rma(yi, vi, data = sub_int, method = "REML", control = tight)
pt <- permutest(res, exact = TRUE, progbar = FALSE)
perm_cases[[length(perm_cases) + 1L]] <- list(
  name = "int_REML_k8_exact", rows = numv(1:8), mods = NULL, method = "REML", test = "z", exact = TRUE,
  iter = nums(2^8), zval = numv(res$zval), pval = numv(pt$pval), QMp = nums(pt$QMp))
res <- rma(yi, vi, data = sub_int, method = "DL", test = "knha", control = tight)
pt <- permutest(res, exact = TRUE, progbar = FALSE)
perm_cases[[length(perm_cases) + 1L]] <- list(
  name = "int_DL_knha_k8_exact", rows = numv(1:8), mods = NULL, method = "DL", test = "knha", exact = TRUE,
  iter = nums(2^8), zval = numv(res$zval), pval = numv(pt$pval), QMp = nums(pt$QMp))
sub_mod <- bcg[c(1, 2, 4, 6, 7, 9, 12), ]
res <- rma(yi, vi, mods = ~ ablat, data = sub_mod, method = "REML", control = tight)
pt <- permutest(res, exact = TRUE, progbar = FALSE)
perm_cases[[length(perm_cases) + 1L]] <- list(
  name = "ablat_REML_k7_exact", rows = numv(c(1, 2, 4, 6, 7, 9, 12)), mods = "ablat", method = "REML", test = "z",
  exact = TRUE, iter = nums(length(pt$zval.perm[, 1])), zval = numv(res$zval), pval = numv(pt$pval), QMp = nums(pt$QMp))
res <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, method = "DL", control = tight)
pt <- permutest(res, exact = TRUE, progbar = FALSE)  # 13! / (2! 7! 4!) distinct arrangements of the rows
perm_cases[[length(perm_cases) + 1L]] <- list(
  name = "alloc_DL_k13_exact", rows = numv(1:13), mods = "factor(alloc)", method = "DL", test = "z", exact = TRUE,
  iter = nums(length(pt$zval.perm[, 1])), zval = numv(res$zval), pval = numv(pt$pval), QMp = nums(pt$QMp))
res <- rma(yi, vi, data = bcg, method = "REML", control = tight)
pt <- permutest(res, exact = TRUE, progbar = FALSE)
perm_cases[[length(perm_cases) + 1L]] <- list(
  name = "int_REML_k13_exact", rows = numv(1:13), mods = NULL, method = "REML", test = "z", exact = TRUE,
  iter = nums(2^13), zval = numv(res$zval), pval = numv(pt$pval), QMp = nums(pt$QMp))
pt <- permutest(res, iter = 5000, seed = 1234, progbar = FALSE)
perm_cases[[length(perm_cases) + 1L]] <- list(
  name = "int_REML_k13_random", rows = numv(1:13), mods = NULL, method = "REML", test = "z", exact = FALSE,
  iter = nums(5000), seed = 1234, zval = numv(res$zval), pval = numv(pt$pval), QMp = nums(pt$QMp))
res <- rma(yi, vi, mods = ~ ablat + year, data = bcg, method = "REML", control = tight)
pt <- permutest(res, iter = 5000, seed = 1234, progbar = FALSE)
perm_cases[[length(perm_cases) + 1L]] <- list(
  name = "ablat_year_REML_k13_random", rows = numv(1:13), mods = "ablat + year", method = "REML", test = "z",
  exact = FALSE, iter = nums(5000), seed = 1234, zval = numv(res$zval), pval = numv(pt$pval), QMp = nums(pt$QMp))

# ============================================================================== formula, btt, anova(X = )
formula_cases <- list()
for (tst in c("z", "knha")) {
  res <- rma(yi, vi, mods = ~ ablat + I(year - 1960) + factor(alloc), data = bcg, method = "REML", test = tst,
             control = tight)
  btts <- list(c(2, 3), c(4, 5), 2)
  anovas <- lapply(btts, function(b) {
    a <- anova(res, btt = b)
    list(btt = numv(b), QM = nums(a$QM), QMdf = numv(a$QMdf), QMp = nums(a$QMp))
  })
  L <- rbind(c(0, 1, 0, 0, 0), c(0, 0, 0, 1, -1), c(1, 40, 10, 1, 0))
  a <- anova(res, X = L)
  formula_cases[[length(formula_cases) + 1L]] <- list(
    name = paste0("bcg_formula_", tst), test = tst,
    mods = "~ ablat + I(year - 1960) + factor(alloc)", coef_names = rownames(res$beta),
    beta = numv(res$beta), se = numv(res$se), zval = numv(res$zval), pval = numv(res$pval),
    ci_lb = numv(res$ci.lb), ci_ub = numv(res$ci.ub), tau2 = nums(res$tau2), QM = nums(res$QM),
    QMdf = numv(res$QMdf), QMp = nums(res$QMp), anova_btt = anovas,
    contrasts = list(X = numm(L), Xb = numv(a$Xb), se = numv(a$se), zval = numv(a$zval), pval = numv(a$pval),
                     QM = nums(a$QM), QMdf = numv(a$QMdf), QMp = nums(a$QMp)))
}

write_json_file(list(
  meta = list(
    generator = "tests/reference/make_fixtures_dependent.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    clubsandwich_version = as.character(packageVersion("clubSandwich")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    number_format = "%.17g; NA -> null, NaN -> NaN, Inf -> Infinity",
    control = tight,
    notes = c(
      "Matrices are lists of rows.",
      "gleser: the shared group is group 1 (ai, n1i or the control SMD group n2i as in the chapter); V holds vi on the diagonal.",
      "robust: dat.bcg log risk ratios; cluster 'cl' is made up (sizes 2, 2, 2, 2, 1, 3, 1), 'alloc' the allocation; CR1 = robust(res, cluster), CR0 = adjust = FALSE, CR2 = clubSandwich = TRUE (Satterthwaite df per coefficient; QM the HTZ F test for models with moderators).",
      "permutest: exact p-values are deterministic; random ones come from R's RNG (compare within Monte-Carlo error).",
      "formula: factor(alloc) has levels alternate (reference), random, systematic.")),
  gleser = gleser,
  vcalc = vcalc_cases,
  robust_data = robust_data,
  robust = robust_cases,
  wald_htz = wald_cases,
  permutest = perm_cases,
  formula = formula_cases
), file.path(out_dir, "metafor_dependent.json"))
