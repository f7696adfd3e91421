#!/usr/bin/env bash
# The report in a real browser (docs/REPORT.md, "Tests"): runs descpipe on a table, writes the
# report, and has tests/report/browser_check.js open it in headless chromium.
#   browser_test.sh DESCPIPE MAKE_DATA WORKDIR real SHARED_TABLE   the shared table (<= 3 MB)
#   browser_test.sh DESCPIPE MAKE_DATA WORKDIR planted             a planted 20,000 x 300 run,
#       then the same stopped after Pass 2 (--until), and without nHSIC (w_hsic = 0)
#   browser_test.sh DESCPIPE MAKE_DATA WORKDIR broken SHARED_TABLE the checker itself: a report
#       with a console error, a network request, and a heatmap and graph left without data must
#       fail it
set -euo pipefail
cli="$1" make_data="$2" work="$3" mode="$4" table="${5:-}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
command -v chromium >/dev/null || { echo "chromium is missing: run scripts/bootstrap.sh" >&2; exit 1; }
[[ -d "${root}/third_party/node/node_modules/chrome-remote-interface" ]] ||
  { echo "chrome-remote-interface is missing: run scripts/bootstrap.sh" >&2; exit 1; }
rm -rf "${work}"
mkdir -p "${work}"
check() { node "${here}/browser_check.js" --cli "${cli}" "$@"; }

case "${mode}" in
  real)
    "${cli}" run "${table}" -o "${work}/out" -q
    size=$(stat -c %s "${work}/out/report.html")
    echo "report of the shared table: ${size} bytes"
    ((size <= 3000000)) || { echo "the report is over 3 MB" >&2; exit 1; }
    check --outdir "${work}/out"
    ;;
  planted)
    "${make_data}" 20000 300 "${work}/planted.parquet" >/dev/null
    "${cli}" run "${work}/planted.parquet" -o "${work}/out" -q \
      --set "metadata_columns=[mol_id, smiles]"
    echo "report of the planted run: $(stat -c %s "${work}/out/report.html") bytes"
    check --outdir "${work}/out"
    "${cli}" run "${work}/planted.parquet" -o "${work}/until2" -q --until pass2 \
      --set "metadata_columns=[mol_id, smiles]"
    check --outdir "${work}/until2"
    "${cli}" run "${work}/planted.parquet" -o "${work}/rdc_only" -q --set w_hsic=0 \
      --set "metadata_columns=[mol_id, smiles]"
    check --outdir "${work}/rdc_only"
    ;;
  broken)
    "${cli}" run "${table}" -o "${work}/out" -q --no-report
    "${cli}" report "${work}/out" -o "${work}/broken.html"
    # A console error and an image from the network before the page's code, and a script after it
# that empties the heatmap and the graph.
    /usr/bin/python3 - "${work}/broken.html" <<'PY'
import sys
path = sys.argv[1]
page = open(path, encoding="utf-8").read()
marker = '<script type="application/json" id="descpipe-data">'
assert page.count(marker) == 1
page = page.replace(marker, '<script>console.error("planted error")</script>'
                    '<img src="https://example.com/pixel.png">' + marker)
assert page.endswith("</body>\n</html>\n")
page = page[:-len("</body>\n</html>\n")] + (
    "<script>for (const id of ['heatmap', 'graph']) descpipeReport.charts[id].setOption("
    "{series: [{data: []}]});</script></body>\n</html>\n")
open(path, "w", encoding="utf-8").write(page)
PY
    if check --outdir "${work}/out" --report "${work}/broken.html" > "${work}/log" 2>&1; then
      cat "${work}/log"
      echo "the browser check passed a report with a console error and a network request" >&2
      exit 1
    fi
    cat "${work}/log"
    grep -q "console error: planted error" "${work}/log"
    grep -q "example.com" "${work}/log"
    grep -q "FAIL: heatmap looks blank" "${work}/log"
    grep -q "FAIL: graph looks blank" "${work}/log"
    echo "the browser check caught all four"
    ;;
  *)
    echo "unknown mode ${mode}" >&2
    exit 2
    ;;
esac
