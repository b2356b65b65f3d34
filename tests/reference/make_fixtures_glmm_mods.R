# Generated fixtures: do not edit the JSON by hand; regenerate with `Rscript tests/reference/make_fixtures_glmm_mods.R`
#
# Writes, next to this script,
#   metafor_glmm_mods.json  metafor's rma.glmm with moderators (tracker issue 14, item 1b): the
#                      binomial-normal model with fixed study effects ("UM.FS", "OR"), its conditional
#                      binomial approximation ("CM.AL"), the exact conditional hypergeometric model
#                      ("CM.EL") and the Poisson-normal model ("UM.FS", "IRR"), method "ML" and "EE",
#                      with one or two moderators from the data sets:
#                        dat.collins1985b: oedema (0/1, whether oedema was a criterion for
#                          pre-eclampsia) and year centred at 1970 (year - 1970);
#                        dat.nielweise2007 and dat.nielweise2008: year centred at 2000 (year - 2000).
#                      The centring only conditions the problem (the slopes are unchanged).
# A separate script from make_fixtures_glmm.R so that metafor_glmm.json stays byte-identical.
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

d <- dat.collins1985b
collins <- data.frame(ai = d$pre.xti, n1i = d$pre.nti, ci = d$pre.xci, n2i = d$pre.nci,
                      oedema = d$oedema, year = d$year - 1970)
d <- dat.nielweise2007
nielweise2007 <- data.frame(ai = d$ai, n1i = d$n1i, ci = d$ci, n2i = d$n2i, year = d$year - 2000)
d <- dat.nielweise2008
nielweise2008 <- data.frame(x1i = d$x1i, t1i = d$t1i, x2i = d$x2i, t2i = d$t2i, year = d$year - 2000)

record <- function(res) {
  if (inherits(res$value, "fit_error")) return(list(error = res$value$msg, warnings = res$warnings))
  r <- res$value
  list(k = r$k, p = r$p, names = rownames(r$beta), beta = numv(r$beta), se = numv(r$se), zval = numv(r$zval),
       pval = numv(r$pval), ci_lb = numv(r$ci.lb), ci_ub = numv(r$ci.ub), vb = numv(r$vb),
       QM = nums(r$QM), QMp = nums(r$QMp), QMdf = nums(r$QMdf[1]),
       tau2 = nums(r$tau2), se_tau2 = nums(r$se.tau2), I2 = nums(r$I2), H2 = nums(r$H2),
       QE_Wld = nums(r$QE.Wld), QEp_Wld = nums(r$QEp.Wld), QE_LRT = nums(r$QE.LRT), QEp_LRT = nums(r$QEp.LRT),
       QE_df = nums(r$QE.df), logLik = nums(r$fit.stats["ll", "ML"]), deviance = nums(r$fit.stats["dev", "ML"]),
       AIC = nums(r$fit.stats["AIC", "ML"]), BIC = nums(r$fit.stats["BIC", "ML"]),
       AICc = nums(r$fit.stats["AICc", "ML"]), warnings = res$warnings)
}
cases <- list()
add_case <- function(name, data, mods, measure, model, method, nagq, fit) {
  cat(name, "\n")
  cases[[name]] <<- c(list(data = lapply(as.list(data), as.numeric), mods = mods, measure = measure,
                           model = model, method = method, nAGQ = nagq), record(fit))
}
or_fit <- function(dd, f, model, method, nagq = 7L) {
  ctrl <- if (model == "CM.EL") cmel_ctrl else list(glmerCtrl = glmer_ctrl)
  catch(rma.glmm(measure = "OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, mods = f, data = dd,
                 model = model, method = method, nAGQ = nagq, control = ctrl))
}
binary <- list(collins1985b = list(collins, c("oedema")), collins1985b_two = list(collins, c("year", "oedema")),
               nielweise2007 = list(nielweise2007, c("year")))
for (nm in names(binary)) {
  dd <- binary[[nm]][[1]]
  mods <- binary[[nm]][[2]]
  f <- as.formula(paste("~", paste(mods, collapse = " + ")))
  for (model in c("UM.FS", "CM.AL", "CM.EL")) {
    for (method in c("ML", "EE")) {
      nagq <- if (model == "CM.EL" || method == "EE") NULL else 7L
      add_case(paste(nm, model, method, sep = "/"), dd, mods, "OR", model, method, nagq,
               or_fit(dd, f, model, method, if (is.null(nagq)) 7L else nagq))
    }
  }
}
add_case("collins1985b/UM.FS/ML/15", collins, c("oedema"), "OR", "UM.FS", "ML", 15L, or_fit(collins, ~oedema, "UM.FS", "ML", 15L))
for (method in c("ML", "EE")) {
  for (model in c("UM.FS", "CM.EL")) {
    nagq <- if (method == "EE") NULL else 7L
    add_case(paste("nielweise2008", model, method, sep = "/"), nielweise2008, c("year"), "IRR", model, method, nagq,
             catch(rma.glmm(measure = "IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, mods = ~year,
                            data = nielweise2008, model = model, method = method, nAGQ = 7L,
                            control = list(glmerCtrl = glmer_ctrl))))
  }
}

write_json_file(list(
  generator = "tests/reference/make_fixtures_glmm_mods.R",
  R = R.version.string,
  metafor = as.character(packageVersion("metafor")),
  lme4 = as.character(packageVersion("lme4")),
  BiasedUrn = as.character(packageVersion("BiasedUrn")),
  settings = list(glmerCtrl = list(optimizer = "bobyqa", rhoend = nums(1e-11), maxfun = nums(1e6),
                                   tolPwrss = nums(1e-12)),
                  CM.EL = list(optimizer = "nlminb", rel.tol = nums(1e-10), integrate_rel.tol = nums(1e-10),
                               dnchgprec = nums(1e-10)),
                  drop00 = TRUE),
  cases = cases
), file.path(out_dir, "metafor_glmm_mods.json"))
