#!/usr/bin/env bash
# Format (default) or lint (--lint) the Swift sources with the toolchain's swift-format and .swift-format.
#
# Choice: a 120-column limit rather than swift-argument-parser's 80, because the engine's shape
# comments and BLAS calls read better on one line; NeverForceUnwrap is off because the engine
# unwraps `baseAddress` of buffers it allocated itself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v swift >/dev/null || export PATH=/opt/swift/usr/bin:$PATH
if [[ ${1:-} == --lint ]]; then
  swift format lint --recursive Sources Tests Package.swift
else
  swift format --in-place --recursive Sources Tests Package.swift
fi
