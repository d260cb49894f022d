#!/usr/bin/env bash
# Exports the MovieLens ratings Debian's r-cran-dslabs ships (100,004 ratings, 671 users, 9,066
# movies; the "ml-latest-small" release of GroupLens, via the dslabs package) as the CSV that
# `scaleplan nas --data movielens:FILE` and `scaleplan rec-train` read (src/rec/movielens.h).
# Installs r-base-core and r-cran-dslabs on demand (not part of the default set-up).
# Usage: scripts/export-movielens.sh [OUT.csv]   (default data/movielens.csv)
set -euo pipefail
out="${1:-data/movielens.csv}"
if ! Rscript -e 'library(dslabs)' >/dev/null 2>&1; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get install -y --no-install-recommends r-base-core r-cran-dslabs
fi
mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
Rscript -e '
  suppressMessages(library(dslabs))
  data(movielens)
  m <- movielens
  genres <- gsub(",", " ", as.character(m$genres))
  d <- data.frame(user = m$userId, movie = m$movieId, rating = m$rating,
                  timestamp = m$timestamp, year = m$year, genres = genres)
  write.table(d, file = commandArgs(TRUE)[1], sep = ",", quote = FALSE, row.names = FALSE,
              na = "NA")
' "$tmp"
mv "$tmp" "$out"
echo "wrote $(($(wc -l < "$out") - 1)) ratings to $out"
