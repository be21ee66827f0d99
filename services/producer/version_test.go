package main

import (
	"testing"

	"github.com/microlb/microlb/internal/testutil"
)

func TestBuildRequested(t *testing.T) {
	testutil.Table(t, "buildRequested", buildRequested,
		testutil.Row("no args", []string(nil), false),
		testutil.Row("bare", []string{"--version"}, true),
		testutil.Row("single dash", []string{"-version"}, true),
		testutil.Row("last, after other flags", []string{"--weight", "5", "--version"}, true),
		testutil.Row("node version", []string{"--version", "v1"}, false),
		testutil.Row("node version among flags", []string{"--weight", "5", "--version", "v1", "--zone", "a"}, false),
		testutil.Row("node version with =", []string{"--version=v1"}, false))
}
