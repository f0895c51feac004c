#!/usr/bin/env bash
# Publishes analysed runs as an example report that opens offline (no server, no network):
#   DIR/index.html            links to everything below
#   DIR/comparison/           `filterlens compare` of the runs with HDF5 copies (compare.html, figures)
#   DIR/<run>/report.html     each run's report, with figures/ (PDF, PNG, CSV; the filter explorer's data scripts
#                             layerNN_filters.js and top images figures/images/) and layers.csv
#   DIR/<run>/*.h5            the published copies of run.h5, probe.h5 and analysis.h5: the layout less the bulk
#                             (scripts/publish_hdf5.py; docs/hdf5-layout.md "Published copies"), enough for
#                             `filterlens compare` and h5py
# The per-filter matrix CSVs (figures/layerNN_filters.csv, most of a run's size: about 40 MB for VGG-16) are
# stored gzipped as layerNN_filters.csv.gz (pandas.read_csv and `zcat` read them as they are), and the copied
# report.html links the .gz. activations.h5 (gigabytes), the weights (run.h5 /weights, the probes' /layerNN/weight) and
# the other files are left out: scripts/publish_report_html.py points each copied report's Files section at what its
# folder holds (the files left out named without a link). Every local link of the copy is checked at the end. The
# copy is staged beside DIR and moved into place at the end, so an interrupted publish leaves the previous DIR as it
# was.
#
# Usage: bash scripts/publish_example_report.sh [--out DIR] [--keep-published] RUN [RUN ...]
#   RUN: a run folder with report.html (`filterlens report RUN` writes it); DIR: default docs/example-report.
#   --keep-published: the run folders already in DIR that are not among the RUNs are carried over as they are; those
#   published with their HDF5 copies join the comparison (so runs made on different machines, whose run folders are
#   gone, can still be compared), the others (published before the copies existed) are listed apart, and the
#   comparison that held them is kept as DIR/comparison-earlier/ (the one already there under that name, if any).
#   FILTERLENS=PATH selects the binary (default .build/release/filterlens).
set -euo pipefail
cd "$(dirname "$0")/.."
invocation="$*"
out=docs/example-report
keep_published=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=${2:?"--out needs a folder"}; shift 2 ;;
        --keep-published) keep_published=1; shift ;;
        *) break ;;
    esac
done
if [ $# -eq 0 ]; then
    echo "publish_example_report.sh: no run given; usage: bash scripts/publish_example_report.sh [--out DIR] [--keep-published] RUN [RUN ...]" >&2
    exit 64
fi
binary=${FILTERLENS:-.build/release/filterlens}
[ -x "$binary" ] || { echo "publish_example_report.sh: $binary is missing; build it: swift build -c release --product filterlens" >&2; exit 1; }
for run in "$@"; do
    if [ ! -f "$run/report.html" ] || [ ! -f "$run/analysis.h5" ]; then
        echo "publish_example_report.sh: $run has no report.html or analysis.h5; run \`filterlens run --resume --out $run\` (or \`filterlens report $run\`) first" >&2
        exit 1
    fi
done

duplicate=$(for run in "$@"; do basename "$run"; done | sort | uniq -d | head -1)
if [ -n "$duplicate" ]; then
    echo "publish_example_report.sh: two runs are named $duplicate; give each run folder its own name" >&2
    exit 64
fi

stage="$(dirname "$out")/.$(basename "$out").tmp-$$"
rm -rf "$stage"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"

names=()
for run in "$@"; do
    name=$(basename "$run")
    mkdir -p "$stage/$name/figures"
    cp "$run/report.html" "$stage/$name/"
    [ -f "$run/layers.csv" ] && cp "$run/layers.csv" "$stage/$name/"
    find "$run/figures" -maxdepth 1 -type f \( -name '*.png' -o -name '*.pdf' -o -name '*.csv' -o -name '*.js' \) ! -name '.*' \
        -exec cp {} "$stage/$name/figures/" \;
    # The filter explorer's top images (figures/images/test-NNNNN.png: one small PNG per test image shown).
    if [ -d "$run/figures/images" ]; then
        mkdir -p "$stage/$name/figures/images"
        find "$run/figures/images" -maxdepth 1 -type f -name '*.png' ! -name '.*' -exec cp {} "$stage/$name/figures/images/" \;
    fi
    python3 scripts/publish_hdf5.py "$run" "$stage/$name"
    for csv in "$stage/$name"/figures/layer*_filters.csv; do
        [ -f "$csv" ] || continue
        gzip -9 -n "$csv"
        file=$(basename "$csv")
        sed -i "s|href=\"figures/$file\"|href=\"figures/$file.gz\"|g" "$stage/$name/report.html"
    done
    python3 scripts/publish_report_html.py "$stage/$name"
    names+=("$name")
done
# Earlier published runs carried over (--keep-published): every folder of DIR with a report.html whose name is not
# one of this call's runs; those with their HDF5 copies (kept_compared) join the comparison, the others (kept_apart)
# are listed apart.
kept_compared=()
kept_apart=()
if [ "$keep_published" = 1 ] && [ -d "$out" ]; then
    for folder in "$out"/*/; do
        name=$(basename "$folder")
        [ "$name" != comparison ] && [ "$name" != comparison-earlier ] && [ -f "$folder/report.html" ] \
            && [ ! -e "$stage/$name" ] || continue
        cp -R "$folder" "$stage/$name"
        python3 scripts/publish_report_html.py "$stage/$name"   # published before it existed: its links too
        if [ -f "$folder/run.h5" ] && [ -f "$folder/analysis.h5" ]; then kept_compared+=("$name"); else kept_apart+=("$name"); fi
    done
fi
# The comparison of the runs listed apart can't be made again: the earlier one is kept.
earlier_comparison=""
if ((${#kept_apart[@]})); then
    for folder in "$out/comparison-earlier" "$out/comparison"; do
        if [ -f "$folder/compare.html" ]; then
            cp -R "$folder" "$stage/comparison-earlier"
            earlier_comparison=$(grep -o '<tr><td>[^<]*</td>' "$folder/compare.html" | sed -E 's/<\/?t[rd]>//g' | paste -sd, | sed 's/,/, /g')
            break
        fi
    done
fi
compared=("$@")
for name in "${kept_compared[@]}"; do compared+=("$out/$name"); done   # the published folder: errors name it
"$binary" compare "${compared[@]}" --out "$stage/comparison" > /dev/null
find "$stage/comparison" -name '*.h5' -delete

{
    echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>FilterLens example report</title></head><body>'
    echo '<h1>FilterLens example report</h1>'
    echo '<p>Runs of <a href="https://arxiv.org/abs/2305.18078">the method</a> through <code>filterlens run</code>,'
    echo 'on CIFAR-10 (JPEG copy). The HDF5 files come as published copies, less activations and weights (see README.md).</p><ul>'
    echo '<li><a href="comparison/compare.html">Comparison of the runs below that come with HDF5 copies</a> (SR and SNR per layer)</li>'
    for name in "${names[@]}"; do echo "<li><a href=\"$name/report.html\">$name</a>: report, figures, layers.csv, HDF5 copies</li>"; done
    for name in "${kept_compared[@]}"; do
        echo "<li><a href=\"$name/report.html\">$name</a>: report, figures, layers.csv, HDF5 copies (published earlier and carried over)</li>"
    done
    for name in "${kept_apart[@]}"; do
        echo "<li><a href=\"$name/report.html\">$name</a>: report, figures, layers.csv (published earlier, without HDF5 copies, and carried over; not in the comparison)</li>"
    done
    if [ -n "$earlier_comparison" ]; then
        echo "<li><a href=\"comparison-earlier/compare.html\">The comparison published earlier</a> ($earlier_comparison), which holds runs listed apart above</li>"
    fi
    echo '</ul></body></html>'
} > "$stage/index.html"
{
    echo "# FilterLens example report"
    echo
    echo "Open index.html in a browser (offline). Made by \`bash scripts/publish_example_report.sh $invocation\` on $(date -u +%Y-%m-%d)."
    echo
    echo "- comparison/: \`filterlens compare\` of the runs below that come with HDF5 copies."
    for name in "${names[@]}"; do
        echo "- $name/: that run's report.html, figures/ (PDF, PNG, CSV), layers.csv and HDF5 copies (run.h5, probe.h5, analysis.h5)."
    done
    for name in "${kept_compared[@]}"; do echo "- $name/: the same, published earlier and carried over (\`--keep-published\`)."; done
    for name in "${kept_apart[@]}"; do
        echo "- $name/: report, figures and layers.csv, published earlier and carried over (\`--keep-published\`); not in"
        echo "  comparison/: it was published before the HDF5 copies were, and \`filterlens compare\` reads them."
    done
    if [ -n "$earlier_comparison" ]; then
        echo "- comparison-earlier/: the comparison published earlier ($earlier_comparison), kept for the runs listed apart."
    fi
    echo
    echo "The HDF5 files are published copies (docs/hdf5-layout.md, \"Published copies\"): run.h5 without /weights,"
    echo "probe.h5 without the probes' weights, analysis.h5 whole (every filter's matrices and measures). They open in"
    echo "h5py, h5dump and HDFView, and \`filterlens compare\` reads them, so a later run can be compared with these."
    echo "activations.h5 (gigabytes), fields.h5, prune.h5 and the checkpoints are left out: each report's Files section"
    echo "names them without a link; rerun the command in docs/findings.md to make them. The per-filter matrix CSVs"
    echo "are gzipped (figures/layerNN_filters.csv.gz): \`zcat\` or pandas.read_csv read them as they are."
} > "$stage/README.md"

# Every local href/src of the copy must name a file in it.
dead=0
while IFS= read -r html; do
    dir=$(dirname "$html")
    while IFS= read -r link; do
        case "$link" in *://*|\#*|mailto:*) continue ;; esac
        if [ ! -e "$dir/${link%%#*}" ]; then
            echo "publish_example_report.sh: ${html#"$stage"/} links $link, which is not in the copy" >&2
            dead=1
        fi
    done < <(grep -o -E '(href|src)="[^"]*"' "$html" | sed -E 's/^(href|src)="(.*)"$/\2/' | sort -u)
done < <(find "$stage" -name '*.html')
[ "$dead" = 0 ] || { echo "publish_example_report.sh: dead links in the copy; $out is left as it was" >&2; exit 1; }

rm -rf "$out.previous"
[ -e "$out" ] && mv "$out" "$out.previous"
mv "$stage" "$out"
rm -rf "$out.previous"
trap - EXIT
echo "$out/index.html"
