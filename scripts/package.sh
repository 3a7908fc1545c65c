#!/usr/bin/env bash
# Builds the Debian package dplb_<version>_amd64.deb from a clean copy of the committed tree
# (git archive HEAD: no build directories, no uncommitted changes), then runs lintian on it:
# lintian errors fail the script, warnings are printed.
#   scripts/package.sh [OUTDIR]     (default: ./dist)
# Installs what it needs with apt-get (debhelper, dpkg-dev, scdoc, lintian, fakeroot and the
# package's Build-Depends). The build compiles only dplbd, dplbctl and their libraries
# (-Dtests=false); DEB_BUILD_OPTIONS=nocheck.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
outdir=${1:-dist}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# Build-Depends read from debian/control (version constraints and debhelper-compat dropped).
build_deps=$(sed -n '/^Build-Depends:/,/^[A-Z][A-Za-z-]*:/p' debian/control | sed '1s/^Build-Depends://; $d' |
  tr ',' '\n' | sed 's/(.*)//; s/^[[:space:]]*//; s/[[:space:]]*$//' | grep -v '^debhelper-compat$' | grep -v '^$')
needed=(debhelper dpkg-dev scdoc lintian fakeroot $build_deps)
missing=()
for p in "${needed[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "package: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

git rev-parse --verify -q HEAD >/dev/null || { echo "package: no commit to build" >&2; exit 1; }
if [[ -n $(git status --porcelain -- debian meson.build meson_options.txt controlplane config dataplane vrrp 2>/dev/null) ]]; then
  echo "package: note: uncommitted changes are not in the package (it builds HEAD)" >&2
fi

work=$(mktemp -d /tmp/dplb-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
src="$work/dplb-${version%%-*}"
mkdir "$src"
git archive --format=tar HEAD | tar -x -C "$src"

echo "package: building dplb $version in $src"
log="$work/build.log"
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=${PACKAGE_JOBS:-2}" dpkg-buildpackage -b -us -uc) >"$log" 2>&1; then
  tail -n 60 "$log" >&2
  echo "package: dpkg-buildpackage failed (full log above, last 60 lines)" >&2
  exit 1
fi

deb="dplb_${version}_amd64.deb"
[[ -f "$work/$deb" ]] || { echo "package: $deb was not built" >&2; ls "$work" >&2; exit 1; }
cp "$work/$deb" "$outdir/"
echo "package: $outdir/$deb"

# lintian: E: fails, W: and the rest are shown.
lint_rc=0
lint=$(lintian --tag-display-limit 0 "$outdir/$deb" 2>&1) || lint_rc=$?
[[ -n $lint ]] && echo "$lint"
# lintian exits non-zero when it finds errors; non-zero without an E: line means it did not run.
if grep -q '^E: ' <<<"$lint"; then
  echo "package: lintian reports errors" >&2
  exit 1
fi
if ((lint_rc != 0)); then
  echo "package: lintian failed (exit $lint_rc)" >&2
  exit 1
fi
echo "package: lintian: $(grep -c '^E: ' <<<"$lint" || true) errors, $(grep -c '^W: ' <<<"$lint" || true) warnings"
