# Reference values for metaacu's sensitivity and publication-bias toolkit
# (leave_one_out, influence, cumulative, Baujat coordinates, egger_test, rank_test, trim_and_fill,
# fail_safe_n), computed with R's metafor.
#
# DO NOT EDIT metafor_toolkit_b.json BY HAND; regenerate it with
#     Rscript tests/reference/make_fixtures_toolkit_b.R
# from the repository root.  Every fit is tightly converged
# (control = list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)) and every number is written at full precision.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

# tol: the root-finder tolerance of the PM/EB uniroot (default ~1.2e-4, far looser than threshold)
ctrl <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

# ------------------------------------------------------------------ datasets
cases <- list()
add_case <- function(name, yi, vi, method, test = "z", level = 0.95, order = NULL, ni = NULL) {
  cases[[name]] <<- list(name = name, yi = as.numeric(yi), vi = as.numeric(vi), method = method,
                         test = test, level = level,
                         order = if (is.null(order)) seq_along(yi) else as.numeric(order),
                         ni = if (is.null(ni)) NULL else as.numeric(ni))
}

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_case("bcg_reml", bcg$yi, bcg$vi, "REML", order = bcg$year, ni = with(dat.bcg, tpos + tneg + cpos + cneg))
add_case("bcg_dl_knha", bcg$yi, bcg$vi, "DL", test = "knha", order = bcg$year)
add_case("bcg_ee", bcg$yi, bcg$vi, "EE", order = bcg$year)

mag <- escalc(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.egger2001)
add_case("magnesium_reml", mag$yi, mag$vi, "REML", order = mag$year, ni = with(dat.egger2001, n1i + n2i))
add_case("magnesium_ee", mag$yi, mag$vi, "EE", order = mag$year, ni = with(dat.egger2001, n1i + n2i))

add_case("k3_reml", c(0.10, 0.52, 0.31), c(0.020, 0.050, 0.041), "REML")
add_case("k5_dl", c(-0.20, 0.15, 0.40, 0.05, 0.61), c(0.04, 0.09, 0.03, 0.12, 0.20), "DL",
         order = c(2001, 1999, 2003, 1999, 2010))
add_case("k10_pm_t", c(0.31, 0.12, 0.55, 0.27, 0.90, 0.18, 0.41, 0.05, 0.66, 0.35),
         c(0.021, 0.035, 0.060, 0.015, 0.110, 0.028, 0.045, 0.019, 0.080, 0.052), "PM", test = "t")

# asymmetric funnel with small studies missing on the left (larger effects in small studies)
set.seed(20240517)
sei30 <- runif(60, 0.05, 0.6)
y30 <- rnorm(60, 0.2, sqrt(sei30^2 + 0.01))
keep <- (y30 / sei30 > 0.6) | (sei30 < 0.2)
y30 <- y30[keep][1:30]; v30 <- sei30[keep][1:30]^2
add_case("k30_left_reml_knha", y30, v30, "REML", test = "knha", order = rev(seq_len(30)))

# mirror image with a different estimator: missing studies on the right
set.seed(99)
sei20 <- runif(40, 0.08, 0.5)
y20 <- rnorm(40, -0.3, sqrt(sei20^2 + 0.02))
keep <- (y20 / sei20 < -0.5) | (sei20 < 0.15)
y20 <- y20[keep][1:20]; v20 <- sei20[keep][1:20]^2
add_case("k20_right_ml", y20, v20, "ML")

# ties in yi and in vi
add_case("ties_dl_90", c(0.2, 0.2, 0.5, 0.1, 0.5, 0.3, 0.8, 0.2), c(0.05, 0.05, 0.1, 0.05, 0.1, 0.04, 0.2, 0.03),
         "DL", level = 0.90, order = c(1, 2, 2, 3, 1, 4, 5, 5))
# homogeneous: tau^2 estimated at 0
add_case("tau0_reml", c(0.30, 0.32, 0.29, 0.31, 0.33, 0.28), c(0.01, 0.02, 0.015, 0.03, 0.025, 0.012), "REML")
add_case("k12_sj_adhoc", c(0.8, 0.1, 0.45, 0.3, 1.2, -0.1, 0.5, 0.62, 0.2, 0.05, 0.9, 0.38),
         c(0.09, 0.02, 0.05, 0.03, 0.2, 0.04, 0.06, 0.08, 0.025, 0.03, 0.15, 0.05), "SJ", test = "adhoc")
add_case("k15_he", bcg$yi[c(1:13, 1, 2)] + c(rep(0, 13), 0.3, -0.2), bcg$vi[c(1:13, 1, 2)] * 1.1, "HE")
add_case("k9_hs", c(0.5, 0.7, 0.2, 0.9, 0.4, 1.1, 0.6, 0.3, 0.8), c(0.05, 0.09, 0.02, 0.16, 0.04, 0.25, 0.07, 0.03, 0.12), "HS")
add_case("k11_eb", c(0.1, -0.3, 0.25, 0.6, 0.0, 0.45, -0.1, 0.3, 0.2, 0.75, 0.15),
         c(0.03, 0.06, 0.04, 0.12, 0.02, 0.09, 0.05, 0.035, 0.025, 0.15, 0.045), "EB")

# ------------------------------------------------------------------ computations
fit <- function(cs) rma(cs$yi, cs$vi, method = cs$method, test = cs$test, level = 100 * cs$level, control = ctrl)

run_case <- function(cs) {
  res <- fit(cs)
  out <- list(fit = list(estimate = c(res$beta), se = res$se, tau2 = res$tau2, q = res$QE))

  l1 <- leave1out(res)
  out$leave1out <- list(estimate = l1$estimate, se = l1$se, statistic = l1[[3]], pvalue = l1$pval,
                        ci_low = l1$ci.lb, ci_high = l1$ci.ub, q = l1$Q, q_pvalue = l1$Qp,
                        tau2 = if (is.null(l1$tau2)) rep(0, res$k) else l1$tau2, i2 = l1$I2, h2 = l1$H2)

  inf <- influence(res)
  out$influence <- list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook_d = inf$inf$cook.d,
                        cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, q_del = inf$inf$QE.del,
                        hat = inf$inf$hat, weight = inf$inf$weight, dfbetas = inf$dfbs$intrcpt,
                        is_infl = as.logical(inf$is.infl))

  cm <- cumul(res, order = cs$order)
  out$cumul <- list(estimate = cm$estimate, se = cm$se, statistic = cm[[3]], pvalue = cm$pvals,
                    ci_low = cm$ci.lb, ci_high = cm$ci.ub, q = cm$Q, q_pvalue = cm$Qp,
                    tau2 = if (is.null(cm$tau2)) rep(0, res$k) else cm$tau2, i2 = cm$I2, h2 = cm$H2,
                    labels = as.character(cm$slab))

  pdf(NULL); bj <- baujat(res); invisible(dev.off())
  out$baujat <- list(x = bj$x, y = bj$y)

  preds <- c("sei", "vi")
  if (!is.null(cs$ni)) preds <- c(preds, "ni", "ninv", "sqrtninv")
  out$regtest <- list()
  for (model in c("lm", "rma")) for (pr in preds) {
    rt <- if (is.null(cs$ni)) regtest(res, model = model, predictor = pr)
          else regtest(res, model = model, predictor = pr, ni = cs$ni)
    entry <- list(model = model, predictor = pr, statistic = rt$zval, pvalue = rt$pval,
                  df = if (is.null(rt$dfs) || is.na(rt$dfs)) NA else rt$dfs,
                  limit = if (is.null(rt$est)) NA else unname(rt$est),
                  limit_ci_low = if (is.null(rt$ci.lb)) NA else unname(rt$ci.lb),
                  limit_ci_high = if (is.null(rt$ci.ub)) NA else unname(rt$ci.ub),
                  slope = unname(coef(rt$fit)[2]))
    if (model == "rma") entry$tau2 <- rt$fit$tau2
    out$regtest[[paste(model, pr, sep = "_")]] <- entry
  }

  rk <- suppressWarnings(ranktest(res))
  out$ranktest <- list(tau = unname(rk$tau), pvalue = rk$pval)

  tf_entry <- function(tf) list(k0 = tf$k0, se_k0 = tf$se.k0, p_k0 = tf$p.k0, side = tf$side,
                                estimate = c(tf$beta), se = tf$se, ci_low = tf$ci.lb, ci_high = tf$ci.ub,
                                tau2 = tf$tau2, yi = c(tf$yi), vi = tf$vi, fill = tf$fill)
  out$trimfill <- list()
  for (est in c("L0", "R0", "Q0")) {
    # metafor stops with an error when the estimator is undefined (e.g. Q0 with a negative root)
    tf <- tryCatch(trimfill(res, estimator = est, control = ctrl, test = cs$test, level = 100 * cs$level),
                   error = function(e) NULL)
    out$trimfill[[est]] <- if (is.null(tf)) list(error = TRUE) else tf_entry(tf)
    side <- if (is.null(tf)) "left" else tf$side
    other <- if (side == "left") "right" else "left"
    tf2 <- tryCatch(trimfill(res, estimator = est, side = other, control = ctrl, test = cs$test,
                             level = 100 * cs$level), error = function(e) NULL)
    out$trimfill[[paste0(est, "_other_side")]] <- if (is.null(tf2)) list(error = TRUE, side = other) else tf_entry(tf2)
  }
  # common-effect variant (R meta's default): k0 from an equal-effects model, final fit with the model's method
  ee <- rma(cs$yi, cs$vi, method = "EE", control = ctrl)
  tfe <- trimfill(ee, control = ctrl)
  refit <- rma(c(tfe$yi), tfe$vi, method = cs$method, test = cs$test, level = 100 * cs$level, control = ctrl)
  e <- tf_entry(tfe)
  e[c("estimate", "se", "ci_low", "ci_high", "tau2")] <- list(c(refit$beta), refit$se, refit$ci.lb, refit$ci.ub, refit$tau2)
  out$trimfill$L0_common <- e

  mean_es <- mean(cs$yi)
  out$fsn <- list(
    rosenthal = unclass(fsn(cs$yi, cs$vi, type = "Rosenthal"))[c("fsnum", "pval")],
    rosenthal_a01 = unclass(fsn(cs$yi, cs$vi, type = "Rosenthal", alpha = 0.01))[c("fsnum", "pval")],
    orwin = unclass(fsn(cs$yi, cs$vi, type = "Orwin"))[c("fsnum", "meanes", "target")],
    orwin_target = unclass(fsn(cs$yi, cs$vi, type = "Orwin", target = mean_es / 3))[c("fsnum", "meanes", "target")],
    orwin_weighted = unclass(fsn(cs$yi, cs$vi, type = "Orwin", weighted = TRUE))[c("fsnum", "meanes", "target")],
    rosenberg = unclass(fsn(cs$yi, cs$vi, type = "Rosenberg"))[c("fsnum", "pval", "meanes")])
  out
}

results <- lapply(cases, function(cs) c(list(input = cs), run_case(cs)))

meta <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
             control = ctrl, generated_by = "tests/reference/make_fixtures_toolkit_b.R",
             n_cases = length(results))
write(toJSON(list(meta = meta, cases = unname(results)), digits = NA, auto_unbox = TRUE, na = "null",
             null = "null", pretty = TRUE),
      "tests/reference/metafor_toolkit_b.json")
cat("wrote", length(results), "cases\n")
