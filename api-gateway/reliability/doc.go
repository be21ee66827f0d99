// Package reliability holds the gateway's fault suite: real bin/producer
// processes, built once per test run, registered in real Consul agents and
// clusters started by internal/consultest, behind a real gateway (built with
// gateway.New and served on loopback listeners), while they are killed,
// restarted, slowed down or cut off from Consul under bounded load. Each test
// logs one line "FAULT <name>: sent=N ok=N failed=N ..." with its counts.
// The package itself is empty; the tests are in package reliability_test.
package reliability
