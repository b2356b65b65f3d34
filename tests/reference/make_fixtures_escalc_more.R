# Generated fixtures: do not edit the JSON by hand; regenerate with
#   Rscript tests/reference/make_fixtures_escalc_more.R
#
# Writes, next to this script, metafor_escalc_more.json:
#   cases   escalc() for the measures added in tracker issue 14 (items 3 and 6): paired data (MC, SMCC,
#           SMCR, SMCRH, ROMC), proportions (PAS, PFT), incidence rates (IR, IRLN, IRS, IRFT, IRR, IRD),
#           correlations (COR, UCOR, ZCOR), 2x2 transformations (AS, OR2DN, OR2DL, OR2D) and SMD to log
#           OR (D2ORN, D2ORL, D2OR), plus SMDH/SMCRH under both conventions and ROM/ROMC bias corrections,
#           on published datasets (metadat) and simulated ones with zero counts, boundary proportions,
#           r = +-1, too small n and impossible input (negative or zero person-time, |r| > 1).
#   pooled  rma() fits of some of those cases and predict(res, transf = ...) on the natural scale.
#   mh_rates  rma.mh(measure = "IRR"/"IRD", x1i, t1i, x2i, t2i): Mantel-Haenszel pooling of incidence rates
#           (dat.hart1999, dat.nielweise2008, simulated zero counts, one study, no events in a group).
# Needs R with metafor (arbiter; 3.8-1 when this file was made), metadat, gsl (UCOR) and jsonlite.
# Numbers are written with 17 significant digits ("%.17g"); NA -> null, NaN -> NaN, +-Inf -> +-Infinity.
# The file carries no date: regenerating with the same R/metafor versions gives byte-identical output.
#
# Two kinds of expected value are not metafor 3.8-1 output and say so in their case:
#   vi_metafor5  SMDH and SMCRH variances of metafor >= 4.6 (NEWS 4.6-0: the J^2 factor of 3.8-1 was
#                dropped; R/escalc.r of 5.1-12 comments it out): metafor 3.8-1's vi divided by J^2, with J
#                from metafor's own .cmicalc.
#   *_reference  UCOR from an independent evaluation of its hypergeometric functions (R's integrate), as
#                metafor's gsl::hyperg_2F1 is inaccurate near z = 1 for some parameters (gsl_ok marks the
#                studies where metafor's own values agree with the reference to 1e-12).
#   yi_correct   ROM/ROMC with metafor >= 5.0's default bias correction (NEWS 5.0-1; correct=TRUE), written
#                here from the published formulas: Lajeunesse 2015 eq. 8 (ROM), Senior et al. 2020 eq. 7
#                (ROMC).  metafor 3.8-1 has no such option.
#
# Run from the repository root or from tests/reference/.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

out_dir <- if (file.exists("tests/reference")) "tests/reference" else "."

# ------------------------------------------------------------------------------ JSON helpers
source(file.path(out_dir, "fixture_helpers.R"))  # num1, numv, nums, write_json_file, catch

# metaacu argument -> escalc argument, by family (events1 is ai for 2x2 tables, x1i for rates)
FAMILY <- c(MC = "paired", SMCC = "paired", SMCR = "paired", SMCRH = "paired", ROMC = "paired",
            PAS = "proportion", PFT = "proportion", IR = "rate", IRLN = "rate", IRS = "rate", IRFT = "rate",
            IRR = "two_rates", IRD = "two_rates", COR = "correlation", UCOR = "correlation", ZCOR = "correlation",
            AS = "binary", OR2DN = "binary", OR2DL = "binary", OR2D = "binary",
            D2ORN = "continuous", D2ORL = "continuous", D2OR = "continuous", SMDH = "continuous",
            ROM = "continuous")
ARGS <- list(
  paired = c(n = "ni", mean1 = "m1i", sd1 = "sd1i", mean2 = "m2i", sd2 = "sd2i", correlation = "ri"),
  proportion = c(events = "xi", n = "ni"),
  rate = c(events = "xi", time = "ti"),
  two_rates = c(events1 = "x1i", time1 = "t1i", events2 = "x2i", time2 = "t2i"),
  correlation = c(correlation = "ri", n = "ni"),
  binary = c(events1 = "ai", n1 = "n1i", events2 = "ci", n2 = "n2i"),
  continuous = c(n1 = "n1i", mean1 = "m1i", sd1 = "sd1i", n2 = "n2i", mean2 = "m2i", sd2 = "sd2i"))

# Gauss's hypergeometric function 2F1(a, a; c; z) by Euler's integral (R's integrate, QUADPACK), the
# reference for UCOR independent of gsl: 1/B(a, c - a) * int_0^1 t^(a-1) (1-t)^(c-a-1) (1 - z t)^(-a) dt.
h2f1 <- function(a, c, z) {
  if (c <= 2 * a) return(NA_real_)  # n <= 4: UCOR undefined
  if (z == 0) return(1)
  f <- function(t) t^(a - 1) * (1 - t)^(c - a - 1) * (1 - z * t)^(-a)
  integrate(f, 0, 1, rel.tol = 1e-13, subdivisions = 1000L)$value / beta(a, c - a)
}

# ============================================================================== escalc cases
cases <- list()
add_case <- function(id, measure, args, vtype = NULL, add = NULL, to = "only0", source = "simulated",
                     note = NULL, bad_argument = NULL) {
  r_args <- args
  names(r_args) <- ARGS[[FAMILY[[measure]]]][names(args)]
  call <- c(list(measure = measure, to = to), r_args)
  if (!is.null(vtype)) call$vtype <- vtype
  if (!is.null(add)) call$add <- add
  r <- catch(do.call(escalc, call))
  res <- list(id = id, measure = measure, args = lapply(args, numv), vtype = vtype, add = add, to = to,
              source = source, warnings = as.list(r$warnings))
  if (!is.null(note)) res$note <- note
  if (!is.null(bad_argument)) res$bad_argument <- bad_argument
  if (inherits(r$value, "fit_error")) {
    res$ok <- FALSE
    res$error <- r$value$msg
  } else {
    res$ok <- TRUE
    res$yi <- numv(r$value$yi)
    res$vi <- numv(r$value$vi)
    if (measure %in% c("SMDH", "SMCRH")) {
      m <- if (measure == "SMDH") args$n1 + args$n2 - 2 else args$n - 1
      res$vi_metafor5 <- numv(r$value$vi / metafor:::.cmicalc(m)^2)
    }
    if (measure == "UCOR") {
      # metafor evaluates 2F1 with gsl::hyperg_2F1, which is inaccurate near z = 1 for some whole-number c;
      # an independent evaluation (Euler's integral by R's integrate) and the formulas above give reference
      # values, and gsl_ok says where metafor's own values agree with them to 1e-12.
      r_ <- args$correlation
      n_ <- args$n
      z_ <- 1 - r_^2
      half <- mapply(h2f1, 0.5, (n_ - 2) / 2, z_)
      one <- mapply(h2f1, 1, n_ / 2, z_)
      y_ <- r_ * half
      v_ <- switch(if (is.null(vtype)) "LS" else vtype,
                   LS = (1 - y_^2)^2 / (n_ - 1),
                   AV = (1 - (sum(n_ * y_) / sum(n_))^2)^2 / (n_ - 1),
                   UB = y_^2 - (1 - (n_ - 3) / (n_ - 2) * (1 - r_^2) * one))
      gsl_half <- suppressWarnings(mapply(function(c, z) gsl::hyperg_2F1(0.5, 0.5, c, z), (n_ - 2) / 2, z_))
      gsl_one <- suppressWarnings(mapply(function(c, z) gsl::hyperg_2F1(1, 1, c, z), n_ / 2, z_))
      res$hyp_half <- numv(half)
      res$hyp_one <- numv(one)
      res$yi_reference <- numv(y_)
      res$vi_reference <- numv(v_)
      res$gsl_ok <- as.list(!is.na(half) & abs(gsl_half / half - 1) <= 1e-12 & abs(gsl_one / one - 1) <= 1e-12)
    }
    if (measure == "ROM") {
      res$yi_correct <- numv(r$value$yi + (args$sd1^2 / (args$n1 * args$mean1^2) -
                                           args$sd2^2 / (args$n2 * args$mean2^2)) / 2)
    }
    if (measure == "ROMC") {
      res$yi_correct <- numv(r$value$yi + (args$sd1^2 / (args$n * args$mean1^2) -
                                           args$sd2^2 / (args$n * args$mean2^2)) / 2)
    }
  }
  cases[[length(cases) + 1L]] <<- res
  invisible(r$value)
}

# ------------------------------------------------------------------ paired data
# Morris SB (2008). Estimating effect sizes from pretest-posttest-control group designs. Organizational
# Research Methods 11:364-386, Table 2 (the data of metafor's analysis example "morris2008",
# https://www.metafor-project.org/doku.php/analyses:morris2008): treatment and control groups.
morrisT <- list(m_pre = c(30.6, 23.5, 0.5, 53.4, 35.6), m_post = c(38.5, 26.8, 0.7, 75.9, 36.0),
                sd_pre = c(15.0, 3.1, 0.1, 14.5, 4.7), sd_post = c(11.6, 4.1, 0.1, 4.4, 4.6),
                ni = c(20, 50, 9, 10, 14), ri = c(.47, .64, .77, .89, .44))
morrisC <- list(m_pre = c(23.1, 24.9, 0.6, 55.7, 34.8), m_post = c(19.7, 25.3, 0.6, 60.7, 33.4),
                sd_pre = c(13.8, 4.1, 0.2, 17.3, 3.1), sd_post = c(14.8, 3.3, 0.2, 17.9, 6.9),
                ni = c(20, 42, 9, 11, 14), ri = c(.47, .64, .77, .89, .44))
src_morris <- "Morris 2008, Table 2 (metafor analysis example morris2008)"
for (g in c("T", "C")) {
  d <- get(paste0("morris", g))
  # the post-test is occasion 1 (change = post - pre); SMCR/SMCRH standardise by sd1 = the pre-test SD
  by_post <- list(n = d$ni, mean1 = d$m_post, sd1 = d$sd_post, mean2 = d$m_pre, sd2 = d$sd_pre, correlation = d$ri)
  by_pre <- list(n = d$ni, mean1 = d$m_post, sd1 = d$sd_pre, mean2 = d$m_pre, sd2 = d$sd_post, correlation = d$ri)
  add_case(paste0("MC_morris", g), "MC", by_post, source = src_morris)
  add_case(paste0("SMCC_LS_morris", g), "SMCC", by_post, source = src_morris)
  add_case(paste0("SMCC_LS2_morris", g), "SMCC", by_post, vtype = "LS2", source = src_morris)
  add_case(paste0("SMCR_LS_morris", g), "SMCR", by_pre[c("n", "mean1", "sd1", "mean2", "correlation")],
           source = src_morris)
  add_case(paste0("SMCR_LS2_morris", g), "SMCR", by_pre[c("n", "mean1", "sd1", "mean2", "correlation")],
           vtype = "LS2", source = src_morris)
  add_case(paste0("SMCRH_morris", g), "SMCRH", by_pre, source = src_morris)
  add_case(paste0("ROMC_morris", g), "ROMC", by_post, source = src_morris)
}

set.seed(1414)
paired <- function(k, nlo, nhi) {
  list(n = sample(nlo:nhi, k, TRUE), mean1 = round(rnorm(k, 14, 3), 2), sd1 = round(runif(k, 1, 6), 2),
       mean2 = round(rnorm(k, 11, 3), 2), sd2 = round(runif(k, 1, 6), 2),
       correlation = round(runif(k, -0.4, 0.95), 2))
}
p_typical <- paired(8, 8, 120)
p_small <- list(n = c(3, 4, 5, 3), mean1 = c(5.1, 4.0, 7.5, 3.3), sd1 = c(1.2, 0.8, 2.0, 1.1),
                mean2 = c(4.0, 4.6, 5.0, 3.0), sd2 = c(0.9, 1.5, 1.7, 0.6), correlation = c(0.2, 0.9, -0.5, 0.6))
p_edge <- list(n = c(12, 15, 20, 9), mean1 = c(10, 8, 12, 6), sd1 = c(2, 3, 2.5, 1.5),
               mean2 = c(9, 7, 10, 6.5), sd2 = c(2, 0, 1.5, 1.5), correlation = c(-1, 0, 0.3, 1))
p_n2 <- list(n = c(2, 10, 1), mean1 = c(5, 6, 7), sd1 = c(1, 2, 1), mean2 = c(4, 5, 6), sd2 = c(1, 1.5, 2),
             correlation = c(0.5, 0.5, 0.5))
p_signs <- list(n = c(10, 10, 10), mean1 = c(5, -3, 4), sd1 = c(1, 1, 1), mean2 = c(4, 2, 0), sd2 = c(1, 1, 1),
                correlation = c(0.5, 0.5, 0.5))
for (m in c("MC", "SMCC", "SMCR", "SMCRH", "ROMC")) {
  cols <- if (m == "SMCR") c("n", "mean1", "sd1", "mean2", "correlation") else names(p_typical)
  add_case(paste0(m, "_typical"), m, p_typical[cols])
  add_case(paste0(m, "_small"), m, p_small[cols], note = "n from 3 (the smallest with Hedges' J(n - 1))")
  add_case(paste0(m, "_edge"), m, p_edge[cols],
           note = "r = -1, an SD of 0 with r = 0 (change SD given as sd1), r = 1 with equal SDs (SD of change 0)")
  add_case(paste0(m, "_n2"), m, p_n2[cols], note = "n = 2 and n = 1: too few for the standardised changes")
}
add_case("SMCC_LS2_typical", "SMCC", p_typical, vtype = "LS2")
add_case("SMCR_LS2_typical", "SMCR", p_typical[c("n", "mean1", "sd1", "mean2", "correlation")], vtype = "LS2")
add_case("ROMC_signs", "ROMC", p_signs, note = "means of opposite sign, and a mean of 0: log ratio undefined")
add_case("MC_bad_r", "MC", list(n = c(10, 12), mean1 = c(5, 6), sd1 = c(1, 2), mean2 = c(4, 5), sd2 = c(1, 1),
                                correlation = c(0.5, 1.2)),
         note = "a correlation above 1", bad_argument = "correlation")

# ------------------------------------------------------------------ proportions
pritz <- dat.pritz1997
src_pritz <- "dat.pritz1997 (metadat)"
for (m in c("PAS", "PFT")) add_case(paste0(m, "_pritz1997"), m, list(events = pritz$xi, n = pritz$ni),
                                    source = src_pritz)
bruin <- dat.debruin2009
for (m in c("PAS", "PFT")) add_case(paste0(m, "_debruin2009"), m, list(events = bruin$xi, n = bruin$ni),
                                    source = "dat.debruin2009 (metadat)")
prop_edge <- list(events = c(0, 3, 10, 7, 0, 1), n = c(12, 15, 10, 7, 1, 1))
for (m in c("PAS", "PFT")) {
  add_case(paste0(m, "_edge_default"), m, prop_edge, note = "x = 0 and x = n (also n = 1); metafor adds nothing by default")
  for (to in c("only0", "all", "if0all", "none")) {
    add_case(paste0(m, "_edge_add_", to), m, prop_edge, add = 0.5, to = to, note = "add = 1/2 given")
  }
}

# ------------------------------------------------------------------ incidence rates
hart <- dat.hart1999
src_hart <- "dat.hart1999 (metadat)"
niel <- dat.nielweise2008
src_niel <- "dat.nielweise2008 (metadat)"
for (m in c("IR", "IRLN", "IRS", "IRFT")) {
  add_case(paste0(m, "_hart1999_arm1"), m, list(events = hart$x1i, time = hart$t1i), source = src_hart)
  add_case(paste0(m, "_hart1999_arm2"), m, list(events = hart$x2i, time = hart$t2i), source = src_hart)
  add_case(paste0(m, "_nielweise2008_arm1"), m, list(events = niel$x1i, time = niel$t1i), source = src_niel)
}
rate_zero <- list(events = c(0, 4, 12, 0, 30), time = c(100, 250.5, 1000, 40, 3000.25))
for (m in c("IR", "IRLN", "IRS", "IRFT")) {
  add_case(paste0(m, "_zero_default"), m, rate_zero, note = "no events in studies 0 and 3")
  for (to in c("only0", "all", "if0all", "none")) {
    add_case(paste0(m, "_zero_add_", to), m, rate_zero, add = 0.5, to = to, note = "add = 1/2 given")
  }
  add_case(paste0(m, "_zero_time"), m, list(events = c(3, 2, 5), time = c(100, 0, 50)),
           note = "zero person-time", bad_argument = "time")
  add_case(paste0(m, "_negative_time"), m, list(events = c(3, 2, 5), time = c(100, 80, -50)),
           note = "negative person-time", bad_argument = "time")
}
add_case("IR_negative_events", "IR", list(events = c(3, -2), time = c(100, 80)), note = "a negative count",
         bad_argument = "events")
for (m in c("IRR", "IRD")) {
  add_case(paste0(m, "_hart1999"), m, list(events1 = hart$x1i, time1 = hart$t1i, events2 = hart$x2i,
                                           time2 = hart$t2i), source = src_hart)
  add_case(paste0(m, "_nielweise2008"), m, list(events1 = niel$x1i, time1 = niel$t1i, events2 = niel$x2i,
                                                time2 = niel$t2i), source = src_niel)
}
rates_zero <- list(events1 = c(0, 3, 0, 7, 12), time1 = c(120, 300, 80, 410.5, 900),
                   events2 = c(2, 0, 0, 5, 9), time2 = c(118, 290, 85, 400, 950))
for (m in c("IRR", "IRD")) {
  for (to in c("only0", "all", "if0all", "none")) {
    add_case(paste0(m, "_zero_", to), m, rates_zero, to = to,
             note = "no events in group 1 (study 0), group 2 (study 1) or both (study 2)")
  }
  add_case(paste0(m, "_zero_add1"), m, rates_zero, add = 1)
  add_case(paste0(m, "_zero_time"), m, list(events1 = c(1, 2), time1 = c(10, 20), events2 = c(3, 4),
                                            time2 = c(30, 0)), note = "zero person-time", bad_argument = "time2")
}

# ------------------------------------------------------------------ correlations
mol <- dat.molloy2014
src_mol <- "dat.molloy2014 (metadat)"
mcd <- dat.mcdaniel1994
src_mcd <- "dat.mcdaniel1994 (metadat)"
for (m in c("COR", "UCOR", "ZCOR")) {
  add_case(paste0(m, "_molloy2014"), m, list(correlation = mol$ri, n = mol$ni), source = src_mol)
  add_case(paste0(m, "_mcdaniel1994"), m, list(correlation = mcd$ri, n = mcd$ni), source = src_mcd)
}
add_case("COR_AV_molloy2014", "COR", list(correlation = mol$ri, n = mol$ni), vtype = "AV", source = src_mol)
add_case("UCOR_UB_molloy2014", "UCOR", list(correlation = mol$ri, n = mol$ni), vtype = "UB", source = src_mol)
add_case("UCOR_AV_molloy2014", "UCOR", list(correlation = mol$ri, n = mol$ni), vtype = "AV", source = src_mol)
cor_sim <- list(correlation = c(0.3, -0.45, 0, 0.99, -0.2, 0.75), n = c(20, 5, 30, 8, 100, 6))
cor_edge <- list(correlation = c(1, -1, 0.5), n = c(10, 10, 10))
cor_n4 <- list(correlation = c(0.4, 0.2, -0.3), n = c(4, 12, 3))
for (m in c("COR", "UCOR", "ZCOR")) {
  add_case(paste0(m, "_sim"), m, cor_sim, note = "r = 0 and r = 0.99, n from 5")
  add_case(paste0(m, "_edge"), m, cor_edge, note = "r = 1 and r = -1")
  add_case(paste0(m, "_n4"), m, cor_n4, note = "n = 4 (too few for UCOR) and n = 3 (no variance)")
  add_case(paste0(m, "_outside"), m, list(correlation = c(0.2, -1.01), n = c(10, 10)),
           note = "a correlation below -1", bad_argument = "correlation")
}
for (v in c("UB", "AV")) add_case(paste0("UCOR_", v, "_sim"), "UCOR", cor_sim, vtype = v)
# a grid across n and r for the hypergeometric functions of UCOR (metafor evaluates them with gsl)
ucor_grid <- expand.grid(n = c(5, 6, 7, 9, 12, 20, 21, 22, 40, 41, 100, 500, 5000),
                         correlation = c(-0.99, -0.7, -0.3, -0.05, 0, 0.01, 0.2, 0.5, 0.9, 0.999))
for (v in c("LS", "UB")) add_case(paste0("UCOR_", v, "_grid"), "UCOR",
                                  list(correlation = ucor_grid$correlation, n = ucor_grid$n), vtype = v,
                                  note = "grid of n (5 to 5000) and r (-0.99 to 0.999)")
add_case("COR_AV_sim", "COR", cor_sim, vtype = "AV")

# ------------------------------------------------------------------ 2x2 transformations, SMD -> log OR
bcg <- dat.bcg
bcg_args <- list(events1 = bcg$tpos, n1 = bcg$tpos + bcg$tneg, events2 = bcg$cpos, n2 = bcg$cpos + bcg$cneg)
src_bcg <- "dat.bcg (metadat)"
bin_zero <- list(events1 = c(0, 5, 3, 0, 20), n1 = c(20, 40, 15, 8, 20), events2 = c(4, 0, 6, 0, 15),
                 n2 = c(22, 38, 15, 9, 18))
for (m in c("AS", "OR2DN", "OR2DL", "OR2D")) {
  add_case(paste0(m, "_bcg"), m, bcg_args, source = src_bcg)
  add_case(paste0(m, "_zero_default"), m, bin_zero,
           note = "zeros in one arm, a double zero (study 3), all events (study 4)")
  for (to in c("only0", "all", "if0all", "none")) {
    add_case(paste0(m, "_zero_add_", to), m, bin_zero, add = 0.5, to = to)
  }
}
norm <- dat.normand1999
norm_args <- list(n1 = norm$n1i, mean1 = norm$m1i, sd1 = norm$sd1i, n2 = norm$n2i, mean2 = norm$m2i, sd2 = norm$sd2i)
src_norm <- "dat.normand1999 (metadat)"
set.seed(4242)
cont_typical <- list(n1 = sample(5:120, 8, TRUE), mean1 = round(rnorm(8, 12, 3), 2), sd1 = round(runif(8, 1, 6), 2),
                     n2 = sample(5:120, 8, TRUE), mean2 = round(rnorm(8, 10, 3), 2), sd2 = round(runif(8, 1, 6), 2))
cont_small <- list(n1 = c(2, 3, 2, 4), mean1 = c(5.1, 4.0, 7.5, 3.3), sd1 = c(1.2, 0.8, 2.0, 1.1),
                   n2 = c(2, 2, 3, 5), mean2 = c(4.0, 4.6, 5.0, 3.0), sd2 = c(0.9, 1.5, 1.7, 0.6))
for (m in c("D2ORN", "D2ORL", "D2OR", "SMDH", "ROM")) {
  add_case(paste0(m, "_normand1999"), m, norm_args, source = src_norm)
  add_case(paste0(m, "_typical"), m, cont_typical)
  add_case(paste0(m, "_small"), m, cont_small, note = "n from 2 per group")
}

# ============================================================================== pooled, natural scale
tight <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
by_id <- setNames(cases, vapply(cases, function(c) c$id, ""))
getv <- function(x) as.numeric(strsplit(gsub("\\[|\\]", "", x), ",")[[1]])
pooled <- list()
add_pooled <- function(case_id, method, transf_name, size_arg = NULL) {
  cs <- by_id[[case_id]]
  yi <- getv(cs$yi)
  vi <- getv(cs$vi)
  fit <- rma(yi, vi, method = method, control = tight)
  transf <- get(transf_name, envir = asNamespace("metafor"))
  size <- if (is.null(size_arg)) NULL else getv(cs$args[[size_arg]])
  if (transf_name == "transf.ipft.hm") {
    p <- predict(fit, transf = transf, targs = list(ni = size))
  } else if (transf_name == "transf.iirft") {
    p <- predict(fit, transf = transf, targs = 1 / mean(1 / size))  # the harmonic mean of the person-times
  } else {
    p <- predict(fit, transf = transf)
  }
  res <- list(case = case_id, method = method, transf = transf_name,
              estimate = nums(fit$beta[1]), se = nums(fit$se), tau2 = nums(fit$tau2),
              pred = nums(p$pred), ci_lb = nums(p$ci.lb), ci_ub = nums(p$ci.ub),
              pi_lb = nums(p$pi.lb), pi_ub = nums(p$pi.ub))
  # the studies on the natural scale (each with its own n or person-time for the Freeman-Tukey inversions)
  z <- qnorm(0.975)
  lo <- yi - z * sqrt(vi)
  hi <- yi + z * sqrt(vi)
  one <- switch(transf_name, transf.ipft.hm = function(x) transf.ipft(x, size),
                transf.iirft = function(x) transf.iirft(x, size), transf)
  res$study <- numv(one(yi))
  res$study_ci_lb <- numv(one(lo))
  res$study_ci_ub <- numv(one(hi))
  pooled[[length(pooled) + 1L]] <<- res
}
for (method in c("DL", "REML")) {
  add_pooled("PFT_pritz1997", method, "transf.ipft.hm", "n")
  add_pooled("PFT_edge_default", method, "transf.ipft.hm", "n")
  add_pooled("PAS_pritz1997", method, "transf.iarcsin")
  add_pooled("ZCOR_molloy2014", method, "transf.ztor")
  add_pooled("IRLN_hart1999_arm1", method, "exp")
  add_pooled("IRS_nielweise2008_arm1", method, "transf.isqrt")
  add_pooled("IRFT_hart1999_arm2", method, "transf.iirft", "time")
  add_pooled("IRFT_zero_default", method, "transf.iirft", "time")
  add_pooled("IRR_hart1999", method, "exp")
  add_pooled("ROMC_morrisT", method, "exp")
  add_pooled("D2ORN_normand1999", method, "exp")
}

# ============================================================================== Mantel-Haenszel, rates
# rma.mh(measure = "IRR"/"IRD", x1i, t1i, x2i, t2i) at metafor's defaults (add = 1/2 and to = "only0" for
# the study-level yi/vi of Q, drop00 = TRUE there; raw counts in the MH estimate; correct = TRUE for the
# IRR's Mantel-Haenszel test), weights() in percent.
mh_rates <- list()
add_mh <- function(id, measure, args, level = 95, correct = TRUE, source = "simulated", note = NULL) {
  r <- catch(rma.mh(measure = measure, x1i = args$events1, t1i = args$time1, x2i = args$events2,
                    t2i = args$time2, level = level, correct = correct))
  res <- list(id = id, measure = measure, args = lapply(args, numv), level = level / 100, correct = correct,
              source = source, warnings = as.list(r$warnings))
  if (!is.null(note)) res$note <- note
  if (inherits(r$value, "fit_error")) {
    res$ok <- FALSE
    res$error <- r$value$msg
  } else {
    f <- r$value
    res$ok <- TRUE
    for (nm in c("beta", "se", "zval", "pval", "ci.lb", "ci.ub", "QE", "QEp", "I2", "H2", "MH", "MHp")) {
      res[[nm]] <- nums(if (is.null(f[[nm]])) NA else f[[nm]])
    }
    res$k <- f$k
    res$k_yi <- f$k.yi
    res$yi <- numv(f$yi.f)
    res$vi <- numv(f$vi.f)
    res$weights <- numv(weights(f))
  }
  mh_rates[[length(mh_rates) + 1L]] <<- res
}
hart_args <- list(events1 = hart$x1i, time1 = hart$t1i, events2 = hart$x2i, time2 = hart$t2i)
niel_args <- list(events1 = niel$x1i, time1 = niel$t1i, events2 = niel$x2i, time2 = niel$t2i)
for (m in c("IRR", "IRD")) {
  add_mh(paste0("MH_", m, "_hart1999"), m, hart_args, source = src_hart)
  add_mh(paste0("MH_", m, "_hart1999_level90"), m, hart_args, level = 90, source = src_hart)
  add_mh(paste0("MH_", m, "_nielweise2008"), m, niel_args, source = src_niel)
  add_mh(paste0("MH_", m, "_zero"), m, rates_zero,
         note = "no events in group 1 (study 0), group 2 (study 1) or both (study 2)")
  add_mh(paste0("MH_", m, "_one"), m, lapply(hart_args, function(x) x[1]), note = "one study")
  add_mh(paste0("MH_", m, "_no_events1"), m,
         list(events1 = c(0, 0, 0), time1 = c(100, 80, 120), events2 = c(2, 5, 1), time2 = c(90, 85, 110)),
         note = "no events in group 1 of any study")
}
add_mh("MH_IRR_hart1999_uncorrected", "IRR", hart_args, correct = FALSE, source = src_hart,
       note = "the Mantel-Haenszel test without continuity correction")
add_mh("MH_IRD_no_events", "IRD",
       list(events1 = c(0, 0), time1 = c(100, 80), events2 = c(0, 0), time2 = c(90, 85)),
       note = "no events at all: IRD 0 with SE 0")

write_json_file(list(
  meta = list(
    generator = "tests/reference/make_fixtures_escalc_more.R",
    r_version = R.version.string,
    metafor_version = as.character(packageVersion("metafor")),
    metadat_version = as.character(packageVersion("metadat")),
    gsl_version = as.character(packageVersion("gsl")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    number_format = "%.17g; NA -> null, NaN -> NaN, Inf -> Infinity",
    function_called = "escalc(measure, <data>, to, [vtype], [add]); rma(yi, vi, method, control = tight); predict(fit, transf, targs); rma.mh(measure, x1i, t1i, x2i, t2i, level, correct)",
    argument_map = ARGS,
    notes = c(
      "add = null and vtype = null: not given to escalc (metafor's defaults: add = 1/2, but 0 for AS, PAS, PFT, IRS, IRFT; vtype = 'LS').",
      "ok = false: escalc stopped with 'error' (impossible input); bad_argument names the metaacu argument at fault.",
      "Where metafor gives NA, NaN or vi <= 0 for a study, metaacu raises MetaacuInputError naming the study.",
      "vi_metafor5 (SMDH, SMCRH) and yi_correct (ROM, ROMC) are derived, not metafor 3.8-1 output: see the header of the generator.",
      "pooled: predict() on the natural scale; PFT with transf.ipft.hm (harmonic mean of n), IRFT with transf.iirft at the harmonic mean of the person-times; study values with each study's own n / person-time.")
  ),
  cases = cases,
  pooled = pooled,
  mh_rates = mh_rates
), file.path(out_dir, "metafor_escalc_more.json"))
