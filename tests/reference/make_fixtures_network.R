# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_network.R`
#
# Writes, next to this script,
#   metafor_network.json  contrast-based network meta-analysis (tracker issue 17, item 1): the
#                         consistency model of metadat's dat.senn2013 and dat.hasselblad1998
#                         examples (metafor's to.wide + escalc + Gleser & Olkin V + contrmat, then
#                         rma.mv(yi, V, mods = ~ <treatments> - 1, random = ~ comp | study,
#                         rho = 1/2)), REML and ML: the arm-level data, the contrasts (yi, vi, V),
#                         the treatment design matrix, coefficients, their covariance, tau2, QE,
#                         fit statistics, and predict() of every pairwise comparison of two
#                         non-reference treatments (and of each treatment vs the reference).
# Needs R with metafor (3.8-1 when this file was made), metadat and jsonlite.  Every fit uses nlminb
# with rel.tol = 1e-12 (iteration limits 1e4).  Numbers are written with 17 significant digits
# ("%.17g"); the file carries no date: regenerating with the same R/metafor versions gives
# byte-identical output.
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."
source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file
numm <- function(m) lapply(seq_len(nrow(m)), function(i) numv(m[i, ]))

CONTROL <- list(optimizer = "nlminb", rel.tol = 1e-12, iter.max = 10000, eval.max = 10000)

# metafor's Rd example, for one dataset: 'wide' (to.wide + escalc), the V of the shared reference arm
# ('cov_ref': the covariance of two contrasts of one study), the treatment columns
network_case <- function(name, arms, wide, cov_ref, reference, method) {
  V <- bldiag(lapply(split(wide, wide$study), function(x) {
    v <- matrix(cov_ref(x), nrow = nrow(x), ncol = nrow(x))
    diag(v) <- x$vi
    v
  }))
  # rows of V follow split() order (sorted study); put the data in that order too
  wide <- wide[order(wide$study), ]
  wide <- contrmat(wide, grp1 = "trt.1", grp2 = "trt.2", last = reference)
  treatments <- sort(setdiff(unique(c(wide$trt.1, wide$trt.2)), reference))
  f <- as.formula(paste("~", paste(treatments, collapse = " + "), "- 1"))
  fit <- function(control) rma.mv(yi, V, mods = f, random = ~ comp | study, rho = 1 / 2, data = wide,
                                  method = method, control = control)
  # where nlminb reports false convergence at rel.tol = 1e-12, rel.tol = 1e-10 (recorded as 'control')
  control <- "nlminb rel.tol=1e-12"
  res <- try(fit(CONTROL), silent = TRUE)
  if (inherits(res, "try-error")) {
    control <- "nlminb rel.tol=1e-10"
    res <- fit(modifyList(CONTROL, list(rel.tol = 1e-10)))
  }
  pairs <- t(combn(treatments, 2))
  L <- matrix(0, nrow(pairs), length(treatments), dimnames = list(NULL, treatments))
  for (i in seq_len(nrow(pairs))) {
    L[i, pairs[i, 2]] <- 1
    L[i, pairs[i, 1]] <- -1
  }
  L <- rbind(diag(length(treatments)), L)
  pr <- predict(res, newmods = L)
  list(
    name = name, method = method, control = control, reference = reference, treatments = treatments,
    arms = arms,
    contrasts = list(study = as.character(wide$study), treatment1 = as.character(wide$trt.1),
                     treatment2 = as.character(wide$trt.2), yi = numv(wide$yi), vi = numv(wide$vi)),
    V = numm(as.matrix(V)), X = numm(res$X), coef_names = colnames(res$X),
    beta = numv(res$beta), se = numv(res$se), zval = numv(res$zval), pval = numv(res$pval),
    ci_lb = numv(res$ci.lb), ci_ub = numv(res$ci.ub), vb = numm(res$vb),
    tau2 = nums(res$tau2), rho = nums(res$rho),
    QE = nums(res$QE), QEp = nums(res$QEp), QEdf = res$k - res$p,
    QM = nums(res$QM), QMp = nums(res$QMp),
    fit_ML = numv(res$fit.stats[, "ML"]), fit_REML = numv(res$fit.stats[, "REML"]),
    k = res$k, p = res$p,
    newmods = numm(L),
    pred = list(pred = numv(pr$pred), se = numv(pr$se), ci_lb = numv(pr$ci.lb), ci_ub = numv(pr$ci.ub),
                pi_lb = numv(pr$pi.lb), pi_ub = numv(pr$pi.ub))
  )
}

# ------------------------------------------------------------------------------ dat.senn2013 (MD)
senn <- dat.senn2013
senn_wide <- to.wide(senn[c(1, 4:2, 5:6)], study = "study", grp = "treatment", ref = "placebo", grpvars = 4:6)
senn_wide <- escalc(measure = "MD", m1i = mi.1, sd1i = sdi.1, n1i = ni.1, m2i = mi.2, sd2i = sdi.2, n2i = ni.2,
                    data = senn_wide)
names(senn_wide)[names(senn_wide) == "treatment.1"] <- "trt.1"
names(senn_wide)[names(senn_wide) == "treatment.2"] <- "trt.2"
senn_arms <- escalc(measure = "MN", mi = mi, sdi = sdi, ni = ni, data = senn)
senn_arms <- list(study = as.character(senn$study), treatment = as.character(senn$treatment),
                  yi = numv(senn_arms$yi), vi = numv(senn_arms$vi))
senn_cov <- function(x) x$sdi.2[1]^2 / x$ni.2[1]

# ------------------------------------------------------------------------------ dat.hasselblad1998 (log OR)
hb <- dat.hasselblad1998
hb_wide <- to.wide(hb, study = "study", grp = "trt", ref = "no_contact", grpvars = 6:7)
hb_wide <- escalc(measure = "OR", ai = xi.1, n1i = ni.1, ci = xi.2, n2i = ni.2, add = 1 / 2, to = "all",
                  data = hb_wide)
hb_wide$study <- sprintf("s%02d", hb_wide$study)  # a label that sorts as the numbers do
hb_arms <- escalc(measure = "PLO", xi = xi, ni = ni, add = 1 / 2, to = "all", data = hb)
hb_arms <- list(study = sprintf("s%02d", hb$study), treatment = as.character(hb$trt),
                yi = numv(hb_arms$yi), vi = numv(hb_arms$vi))
hb_cov <- function(x) 1 / (x$xi.2[1] + 1 / 2) + 1 / (x$ni.2[1] - x$xi.2[1] + 1 / 2)

cases <- list(
  network_case("senn2013_reml", senn_arms, senn_wide, senn_cov, "placebo", "REML"),
  network_case("senn2013_ml", senn_arms, senn_wide, senn_cov, "placebo", "ML"),
  network_case("hasselblad1998_reml", hb_arms, hb_wide, hb_cov, "no_contact", "REML")
)

write_json_file(list(
  metafor_version = as.character(packageVersion("metafor")),
  metadat_version = as.character(packageVersion("metadat")),
  cases = cases
), file.path(out_dir, "metafor_network.json"))
