#!/usr/bin/env bash
# Make sure the system packages percepiano needs are present.
# As root, install what is missing with apt-get; otherwise say exactly what to install.
#   FluidSynth (library + program) renders MIDI with the sustain pedal;
#   fluid-soundfont-gm provides the FluidR3 General MIDI soundfont;
#   musescore-general-soundfont-small, a piano no model trains on (the robustness curves);
#   chromium is used only by the book check (pass --book to require it).
set -euo pipefail
need=()
command -v fluidsynth >/dev/null 2>&1 || need+=(fluidsynth)
[ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] || need+=(fluid-soundfont-gm)
[ -f /usr/share/sounds/sf3/MuseScore_General_Lite.sf3 ] || need+=(musescore-general-soundfont-small)
if [ "${1:-}" = "--book" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing system packages: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing system packages: ${need[*]}" >&2
  echo "install them with: sudo apt-get install ${need[*]}   (conda: conda install -c conda-forge fluidsynth)" >&2
  exit 1
fi
