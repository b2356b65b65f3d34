# JSON-writing helpers shared by the fixture scripts (make_fixtures.R, make_fixtures_variance.R,
# _estimators.R, _escalc_more.R, _dependent.R, _multilevel.R, _glmm.R, _glmm_mods.R), which source() this file (as
# file.path(out_dir, "fixture_helpers.R")).  Not a script of its own.
#
# jsonlite prints at most 15 significant digits, so numbers are formatted here with 17 ("%.17g") and
# passed through verbatim: NA -> null, NaN -> NaN, +-Inf -> +-Infinity (the bare literals Python's
# json module reads).  Needs jsonlite loaded by the calling script.

# one number as JSON text
num1 <- function(x) {
  if (is.null(x) || length(x) == 0L) return("null")
  x <- as.numeric(x)
  if (is.na(x) && !is.nan(x)) return("null")
  if (is.nan(x)) return("\"__NaN__\"")
  if (is.infinite(x)) return(if (x > 0) "\"__Inf__\"" else "\"__-Inf__\"")
  sprintf("%.17g", x)
}
# a numeric vector as a JSON array, and one number, both written verbatim by toJSON
numv <- function(x) structure(paste0("[", paste(vapply(as.numeric(x), num1, ""), collapse = ","), "]"),
                              class = "json")
nums <- function(x) structure(num1(x), class = "json")

write_json_file <- function(obj, path) {
  txt <- toJSON(obj, auto_unbox = TRUE, json_verbatim = TRUE, pretty = 1, null = "null", na = "null")
  # placeholders keep jsonlite's validation happy; Python's json module reads the bare literals
  txt <- gsub('"__NaN__"', "NaN", txt, fixed = TRUE)
  txt <- gsub('"__Inf__"', "Infinity", txt, fixed = TRUE)
  txt <- gsub('"__-Inf__"', "-Infinity", txt, fixed = TRUE)
  writeLines(txt, path)
  cat("wrote", path, "\n")
}

# evaluate expr, keeping its warnings (muffled) and turning an error into a "fit_error" value
catch <- function(expr) {
  warns <- character(0)
  val <- withCallingHandlers(
    tryCatch(expr, error = function(e) structure(list(msg = conditionMessage(e)), class = "fit_error")),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    })
  list(value = val, warnings = warns)
}
