#!/usr/bin/env bash
# `sam build` without a container, finding the Python interpreter the template's runtime needs.
#
# SAM (aws-lambda-builders) builds a python3.X function with an interpreter named python3.X
# on PATH whose version is exactly 3.X. This script reads the runtimes from template.yaml and
# looks for each interpreter itself:
#   1. python3.X on PATH (a 3.X virtualenv or a system install);
#   2. else the newest installed 3.X.N under pyenv's root (`pyenv root`, else $PYENV_ROOT, else
#      ~/.pyenv; pyenv itself need not be on PATH), whose bin directory then goes first on PATH;
#   3. else it prints one line, "sam build skipped: ...", and exits 0, so `make test` runs every
#      other check on any Python 3.11+ (SAM_BUILD_REQUIRED=1 makes that exit status 3).
# CI runs the same: it builds whenever the interpreter exists.
#
# The build goes to a temporary directory (removed afterwards unless SAM_BUILD_DIR names one
# to keep), with the build cache off, and is then compiled to bytecode (SAM_BUILD_BYTECODE=0
# skips that). Extra arguments are passed to `sam build`. SAM_BUILD_FIND_ONLY=1 stops after
# naming the interpreters (for the tests).
#
#   local/sam_build.sh                       # check that the bundle builds
#   SAM_BUILD_DIR=.aws-sam/build local/sam_build.sh   # keep the output (e.g. for sam deploy)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export SAM_CLI_TELEMETRY=0

TEMPLATE="${SAM_TEMPLATE:-template.yaml}"
if [[ -x "$ROOT/.venv/bin/sam" ]]; then
  SAM="$ROOT/.venv/bin/sam"
elif command -v sam >/dev/null 2>&1; then
  SAM="$(command -v sam)"
else
  echo "sam_build: the AWS SAM CLI is not installed (make test installs it into .venv)" >&2
  exit 2
fi

# Every python runtime the template builds for (Runtime: and BuildMethod: values), e.g. 3.12.
mapfile -t VERSIONS < <(
  grep -Eo '(Runtime|BuildMethod|CompatibleRuntimes):.*python3\.[0-9]+' "$TEMPLATE" \
    | grep -Eo 'python3\.[0-9]+' | sed 's/^python//' | sort -u
)
if [[ ${#VERSIONS[@]} -eq 0 ]]; then
  echo "sam_build: no python3.X runtime found in $TEMPLATE" >&2
  exit 2
fi

# True when `python<version>` on PATH runs and is exactly that version.
runs() {
  local version="$1"
  "python${version}" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '${version}'.split('.'))))" \
    >/dev/null 2>&1
}

# pyenv's root, whether or not the pyenv command is on PATH.
pyenv_root() {
  if command -v pyenv >/dev/null 2>&1 && pyenv root 2>/dev/null; then
    return
  fi
  echo "${PYENV_ROOT:-${HOME:-/nonexistent}/.pyenv}"
}

# The bin directory of the newest installed 3.X.N under pyenv's root that runs, if any.
pyenv_bin() {
  local version="$1" root candidate
  root="$(pyenv_root)"
  [[ -d "$root/versions" ]] || return 1
  while read -r candidate; do
    if "$root/versions/$candidate/bin/python${version}" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '${version}'.split('.'))))" \
      >/dev/null 2>&1; then
      echo "$root/versions/$candidate/bin"
      return 0
    fi
  done < <(ls -1 "$root/versions" 2>/dev/null | grep -E "^${version//./\\.}\.[0-9]+$" | sort -t. -k3,3nr)
  return 1
}

MISSING=()
for version in "${VERSIONS[@]}"; do
  if ! runs "$version"; then
    if bin="$(pyenv_bin "$version")"; then
      export PATH="$bin:$PATH"
      echo "sam_build: using python${version} from pyenv ($bin)" >&2
    else
      MISSING+=("$version")
    fi
  fi
done

if [[ ${#MISSING[@]} -gt 0 ]]; then
  line="sam build skipped: no python${MISSING[0]} on PATH; the deployment builds with the python${MISSING[0]} runtime"
  if [[ "${SAM_BUILD_REQUIRED:-0}" == "1" ]]; then
    echo "$line (SAM_BUILD_REQUIRED=1: failing)" >&2
    exit 3
  fi
  echo "$line"
  exit 0
fi
for version in "${VERSIONS[@]}"; do
  echo "sam_build: python${version} is $(command -v "python${version}") ($("python${version}" -V 2>&1))" >&2
done
if [[ "${SAM_BUILD_FIND_ONLY:-0}" == "1" ]]; then
  exit 0
fi

if [[ -n "${SAM_BUILD_DIR:-}" ]]; then
  BUILD_DIR="$SAM_BUILD_DIR"
else
  BUILD_DIR="$(mktemp -d "${TMPDIR:-/tmp}/docspace-sentinel-build.XXXXXX")"
  trap 'rm -rf "$BUILD_DIR"' EXIT
fi

"$SAM" build \
  --template-file "$TEMPLATE" \
  --build-dir "$BUILD_DIR" \
  --no-cached \
  "$@"

# The layer must carry the package and its requirements; every function its handler.
layer_dir="$(find "$BUILD_DIR" -maxdepth 1 -type d -name 'DocSpaceLayer*' | head -n 1)"
if [[ -z "$layer_dir" || ! -f "$layer_dir/python/docspace_sentinel/__init__.py" ]]; then
  echo "sam_build: the build has no layer with python/docspace_sentinel" >&2
  exit 1
fi

# Ship bytecode. Lambda's code directories are read-only, so Python compiles every module of the
# layer and the handler (dependencies included) on each cold start unless the zip carries .pyc
# files: measured here, a handler's imports take ~275 ms from source and ~145 ms from bytecode.
# "unchecked-hash" .pyc files are used without comparing source timestamps (the zip does not
# keep them exactly); the build directory is generated and never edited, so they cannot go stale.
if [[ "${SAM_BUILD_BYTECODE:-1}" != "0" ]]; then
  for version in "${VERSIONS[@]}"; do
    # A dependency's file that does not compile (a template, a test fixture) stays source only.
    "python${version}" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$BUILD_DIR" \
      >/dev/null || echo "sam_build: some files did not compile to python${version} bytecode" >&2
  done
  if ! compgen -G "$layer_dir/python/docspace_sentinel/__pycache__/*.pyc" >/dev/null; then
    echo "sam_build: compiling the layer to bytecode failed" >&2
    exit 1
  fi
fi
echo "sam_build: OK (built into $BUILD_DIR)" >&2
