# Sourced by normalization_check.sh and probe_seed_check.sh: a folder beside a finished run that shares its files.
#
# beside_run RUN OUT FILE...: fails in one line unless RUN/analysis.h5 exists (the run is finished), then makes OUT
# and hard-links each FILE of RUN that exists and is not yet in OUT (a copy where links are refused), so the run's own
# files are never written and the gigabytes of activations are not copied.
beside_run() {
    local run=$1 out=$2 file
    shift 2
    [ -f "$run/analysis.h5" ] || { echo "error: $run/analysis.h5 not found: finish the run first (filterlens run --resume --out $run)" >&2; exit 1; }
    mkdir -p "$out"
    for file in "$@"; do
        if [ -f "$run/$file" ] && [ ! -e "$out/$file" ]; then
            ln "$run/$file" "$out/$file" 2>/dev/null || cp "$run/$file" "$out/$file"
        fi
    done
}
