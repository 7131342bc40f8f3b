"""The project's own toolchain: Go binaries built from their modules, and a local control plane.

This machine can download no prebuilt binary, so everything the real deploy path needs beyond
Python (the Kubernetes control plane, KWOK, etcd, actionlint) is built from its Go module by
:mod:`toolchain.build`, cached per version in the user's cache directory, and
:mod:`toolchain.cluster` runs those binaries as a loopback-only cluster with simulated nodes.
"""
