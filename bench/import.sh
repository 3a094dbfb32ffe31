#!/usr/bin/env bash
# bench/import.sh - module import time, started by bench/run.sh. No lab needed.
# IMPORT_RUNS timed rounds (round 0 = untimed warm-up), interleaved and rotated:
#   engine   out/vfsh/vfsh -NoModule -Command 1                       (the engine host alone)
#   import   out/vfsh/vfsh -NoModule -Command 'Import-Module <psd1>'  (the same plus an explicit import)
#   startup  out/vfsh/vfsh -Command 1                                 (vfsh importing the module itself)
# Import time = median(import) - median(engine), and median(startup) - median(engine).
# Folder $OUT/import: runs.csv, env.txt, out/.
set -o errexit -o nounset -o pipefail
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
: "${OUT:?}" "${IMPORT_RUNS:=7}"

DIR=$OUT/import
rm -rf "$DIR"; mkdir -p "$DIR/out"
CSV=$DIR/runs.csv
echo "$RUNS_HEADER" > "$CSV"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$EPOCHSECONDS
ws=(engine import startup)
log "import: $IMPORT_RUNS rounds of vfsh -NoModule '1' / -NoModule 'Import-Module' / default startup"
for ((r = 0; r <= IMPORT_RUNS; r++)); do
    line=
    for ((k = 0; k < 3; k++)); do
        w=${ws[$(((k + r) % 3))]}
        case $w in
            engine)  timed "$DIR/out/$w.$r.txt" "$VFSH" -NoModule -Command 1 ;;
            import)  timed "$DIR/out/$w.$r.txt" "$VFSH" -NoModule -Command "Import-Module '$PSD1'" ;;
            startup) timed "$DIR/out/$w.$r.txt" "$VFSH" -Command 1 ;;
        esac
        record "$CSV" "$w" "$r" ""
        line+=" $w=${T_WALL}s"
    done
    log "import round $r:$line"
done
{
    echo "workload=import"
    echo "runs=$IMPORT_RUNS"
    echo "vf_env=${VF_ENV_DESC:-}"
    env_footer "$load_start" "$t_start"
} > "$DIR/env.txt"
touch "$DIR/DONE"
