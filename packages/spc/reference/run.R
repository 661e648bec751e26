# Runs NHSRplotthedots' ptd_spc() on every case of cases.json (via values.csv and
# options.csv) and writes its results: r-points.csv (mean, limits, point type, rebase
# group of each point, 17 significant digits) and r-assurance.csv. Usage (README.md):
#   Rscript run.R PATH/TO/NHSRplotthedots/R
suppressPackageStartupMessages({ library(dplyr); library(rlang) })
src <- commandArgs(trailingOnly = TRUE)[1]
files <- c("ZZZ", "to_datetime", "ptd_spc_options", "ptd_validate_spc_options", "ptd_add_rebase_column",
           "ptd_spc_standard", "ptd_calculate_point_type", "ptd_add_short_group_warnings",
           "ptd_add_target_column", "ptd_calculate_assurance_type", "ptd_spc", "ptd_rebase", "ptd_target")
# Two edits as the files are read, so that this checks the arithmetic and rules rather
# than the guards: fix_after_n_points below 12 is allowed (the reference refuses it; the
# cases try 2 to 12), and case_when()'s `.default =` is spelled `TRUE ~` for dplyr < 1.1.
for (f in files) {
  txt <- readLines(file.path(src, paste0(f, ".R")))
  txt <- gsub("fix_after_n_points >= 12,", "TRUE,", txt, fixed = TRUE)
  if (packageVersion("dplyr") < "1.1.0") txt <- gsub(".default = ", "TRUE ~ ", txt, fixed = TRUE)
  eval(parse(text = txt), envir = globalenv())
}
vals <- read.csv("values.csv", colClasses = c("integer", "character", "numeric"))
opts <- read.csv("options.csv", colClasses = c("integer", "logical", "integer", "character", "character", "numeric"))
g17 <- function(x) sprintf("%.17g", x)
out <- list()
asr <- list()
for (k in seq_len(nrow(opts))) {
  o <- opts[k, ]
  d <- vals[vals$case == o$case, ]
  d$date <- as.Date(d$date)
  rebase <- if (is.na(o$rebase) || o$rebase == "") ptd_rebase() else as.Date(strsplit(o$rebase, ";")[[1]])
  target <- if (is.na(o$target)) ptd_target() else o$target
  fix <- if (is.na(o$fix)) NULL else o$fix
  s <- suppressWarnings(ptd_spc(d, value_field = "value", date_field = "date", rebase = rebase,
    fix_after_n_points = fix, improvement_direction = o$improvement, target = target,
    screen_outliers = o$screen))
  out[[k]] <- data.frame(case = o$case, date = format(as.Date(s$x)), mean = g17(s$mean_col),
    lpl = g17(s$lpl), upl = g17(s$upl), point_type = s$point_type, rebase_group = s$rebase_group)
  a <- suppressWarnings(ptd_calculate_assurance_type(s))
  asr[[k]] <- data.frame(case = o$case, assurance = a$assurance_type)
}
write.csv(do.call(rbind, out), "r-points.csv", row.names = FALSE)
write.csv(do.call(rbind, asr), "r-assurance.csv", row.names = FALSE)
