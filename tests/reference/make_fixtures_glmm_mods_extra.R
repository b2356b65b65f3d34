# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_glmm_mods_extra.R`
#
# Writes, next to this script,
#   metafor_glmm_mods_extra.json  metafor's rma.glmm with moderators given as a formula (tracker issue 14,
#                      item 1 "with moderators"): `mods = ~ ...` with I() and factor() terms, the omnibus
#                      test of a subset of coefficients (`btt`, by index and by name pattern), test = "z"
#                      and "t", and predict() at new moderator values (newmods, with and without
#                      transf = exp), for the models "UM.FS", "CM.AL" and "CM.EL" (OR) and "UM.FS",
#                      "CM.EL" (IRR), method "ML" and "EE":
#                        dat.bcg: ~ ablat + year + factor(alloc) (CM.AL) and ~ I(year - 1960) + factor(alloc)
#                          (CM.EL; UM.FS is not fitted: lme4 stops at tau2 = 0 or fails on these
#                          counts of up to 100,000 per arm);
#                        dat.collins1985b: ~ I(year - 1970) + factor(oedema) (UM.FS, CM.AL);
#                        dat.nielweise2007 (OR) and dat.nielweise2008 (IRR): ~ I(year - 2000).
#                      Each case holds the raw data columns, the formula, the fit's coefficient table and
#                      QM, the QM of each `btt` refit, and predictions at `newdata` (raw moderator values;
#                      `newmods` is their model-matrix row without the intercept, what metafor takes).
# A separate script from make_fixtures_glmm_mods.R so that metafor_glmm_mods.json stays byte-identical.
# Needs R with metafor (3.8-1 when this file was made), lme4 (1.1-31), BiasedUrn, metadat and jsonlite.
# Numbers with 17 significant digits ("%.17g"); NA -> null.  Same settings as make_fixtures_glmm.R:
# glmerCtrl = bobyqa, rhoend 1e-11, tolPwrss 1e-12; CM.EL: nlminb, integrate rel.tol 1e-10.
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."

source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch

glmer_ctrl <- list(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-11, maxfun = 1e6), tolPwrss = 1e-12)
cmel_ctrl <- list(optimizer = "nlminb", optCtrl = list(eval.max = 1e4, iter.max = 1e4),
                  intCtrl = list(rel.tol = 1e-10, subdivisions = 1000L))

d <- dat.bcg
bcg <- data.frame(ai = d$tpos, n1i = d$tpos + d$tneg, ci = d$cpos, n2i = d$cpos + d$cneg,
                  ablat = d$ablat, year = d$year, alloc = d$alloc, stringsAsFactors = FALSE)
d <- dat.collins1985b
collins <- data.frame(ai = d$pre.xti, n1i = d$pre.nti, ci = d$pre.xci, n2i = d$pre.nci,
                      oedema = d$oedema, year = d$year)
d <- dat.nielweise2007
nielweise2007 <- data.frame(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i, year = d$year)
d <- dat.nielweise2008
nielweise2008 <- data.frame(x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i, year = d$year)

glmm_fit <- function(dd, f, measure, model, method, test = "z", btt = NULL) {
  ctrl <- if (model == "CM.EL" && measure == "OR") cmel_ctrl else list(glmerCtrl = glmer_ctrl)
  nagq <- 7L
  if (measure == "OR") {
    catch(rma.glmm(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, mods = f, data = dd, model = model,
                   method = method, test = test, btt = btt, nAGQ = nagq, control = ctrl))
  } else {
    catch(rma.glmm(measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, mods = f, data = dd,
                   model = model, method = method, test = test, btt = btt, nAGQ = nagq, control = ctrl))
  }
}

record <- function(res) {
  if (inherits(res$value, "fit_error")) return(list(error = res$value$msg, warnings = res$warnings))
  r <- res$value
  list(k = r$k, p = r$p, names = rownames(r$beta), beta = numv(r$beta), se = numv(r$se), zval = numv(r$zval),
       pval = numv(r$pval), ci_lb = numv(r$ci.lb), ci_ub = numv(r$ci.ub), vb = numv(r$vb),
       btt = r$btt, QM = nums(r$QM), QMp = nums(r$QMp), QMdf = numv(r$QMdf), tau2 = nums(r$tau2),
       logLik = nums(r$fit.stats["ll", "ML"]), warnings = res$warnings)
}

# the model-matrix rows (without the intercept) of raw moderator values, coded with the fit's factor levels
newmods_of <- function(f, dd, newdata) {
  vars <- names(newdata)
  mm <- model.matrix(f, rbind(dd[, vars, drop = FALSE], newdata))
  mm[(nrow(dd) + 1):nrow(mm), -1, drop = FALSE]
}

predictions <- function(fit, newmods) {
  if (inherits(fit, "fit_error")) return(NULL)
  p <- predict(fit, newmods = newmods)
  e <- predict(fit, newmods = newmods, transf = exp)
  list(pred = numv(p$pred), se = numv(p$se), ci_lb = numv(p$ci.lb), ci_ub = numv(p$ci.ub),
       pi_lb = numv(p$pi.lb), pi_ub = numv(p$pi.ub),
       exp_pred = numv(e$pred), exp_ci_lb = numv(e$ci.lb), exp_ci_ub = numv(e$ci.ub),
       exp_pi_lb = numv(e$pi.lb), exp_pi_ub = numv(e$pi.ub))
}

cases <- list()
add_case <- function(name, dd, formula, measure, model, method, test, btts, newdata) {
  cat(name, "\n")
  f <- as.formula(formula)
  main <- glmm_fit(dd, f, measure, model, method, test)
  subsets <- lapply(btts, function(b) {
    r <- glmm_fit(dd, f, measure, model, method, test, btt = b)
    if (inherits(r$value, "fit_error")) return(list(btt_r = b, error = r$value$msg))
    list(btt_r = b, btt = r$value$btt, QM = nums(r$value$QM), QMp = nums(r$value$QMp), QMdf = numv(r$value$QMdf))
  })
  newmods <- newmods_of(f, dd, newdata)
  cols <- lapply(as.list(dd), function(x) if (is.character(x)) x else as.numeric(x))
  cases[[name]] <<- c(list(data = cols, formula = formula, measure = measure, model = model, method = method,
                           test = test, nAGQ = 7L, newdata = lapply(as.list(newdata), identity),
                           newmods = lapply(seq_len(nrow(newmods)), function(i) numv(newmods[i, ]))),
                      record(main), list(btt_fits = subsets, predict = predictions(main$value, newmods)))
}

bcg_new <- data.frame(ablat = c(20, 40, 55), year = c(1960, 1970, 1948),
                      alloc = c("systematic", "random", "alternate"), stringsAsFactors = FALSE)
bcg_f <- "~ ablat + year + factor(alloc)"
for (method in c("ML", "EE")) {
  add_case(paste("bcg/CM.AL", method, "z", sep = "/"), bcg, bcg_f, "OR", "CM.AL", method, "z",
           list("alloc", 2L, c(2L, 3L), 1L), bcg_new)
}
add_case("bcg/CM.AL/ML/t", bcg, bcg_f, "OR", "CM.AL", "ML", "t", list("alloc", 2L), bcg_new)
add_case("bcg/CM.EL/ML/z", bcg, "~ I(year - 1960) + factor(alloc)", "OR", "CM.EL", "ML", "z", list("alloc"),
         bcg_new[, c("year", "alloc")])

collins_new <- data.frame(year = c(1965, 1975), oedema = c(1, 0))
for (model in c("UM.FS", "CM.AL")) {
  add_case(paste("collins1985b", model, "ML/z", sep = "/"), collins, "~ I(year - 1970) + factor(oedema)", "OR",
           model, "ML", "z", list("oedema", 2L), collins_new)
}
add_case("collins1985b/UM.FS/ML/t", collins, "~ I(year - 1970) + factor(oedema)", "OR", "UM.FS", "ML", "t",
         list("oedema"), collins_new)

year_new <- data.frame(year = c(1995, 2003))
for (model in c("UM.FS", "CM.EL")) {
  add_case(paste("nielweise2007", model, "ML/z", sep = "/"), nielweise2007, "~ I(year - 2000)", "OR", model, "ML",
           "z", list(), year_new)
}
add_case("nielweise2008/UM.FS/ML/z", nielweise2008, "~ I(year - 2000)", "IRR", "UM.FS", "ML", "z", list(), year_new)
add_case("nielweise2008/UM.FS/ML/t", nielweise2008, "~ I(year - 2000)", "IRR", "UM.FS", "ML", "t", list(), year_new)
add_case("nielweise2008/CM.EL/EE/z", nielweise2008, "~ I(year - 2000)", "IRR", "CM.EL", "EE", "z", list(), year_new)

write_json_file(list(
  generator = "tests/reference/make_fixtures_glmm_mods_extra.R",
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  lme4 = as.character(packageVersion("lme4")),
  BiasedUrn = as.character(packageVersion("BiasedUrn")),
  settings = list(glmerCtrl = list(optimizer = "bobyqa", rhoend = nums(1e-11), maxfun = nums(1e6),
                                   tolPwrss = nums(1e-12)),
                  CM.EL = list(optimizer = "nlminb", rel.tol = nums(1e-10), integrate_rel.tol = nums(1e-10)),
                  drop00 = TRUE),
  cases = cases
), file.path(out_dir, "metafor_glmm_mods_extra.json"))
