// Package integration holds the end-to-end tests of the sample services:
// real producer and consumer binaries, built once per test run, against a
// real Consul agent started by internal/consultest. The package itself is
// empty; the tests are in package integration_test.
package integration
