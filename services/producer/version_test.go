package main

import "testing"

func TestBuildRequested(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"no args", nil, false},
		{"bare", []string{"--version"}, true},
		{"single dash", []string{"-version"}, true},
		{"last, after other flags", []string{"--weight", "5", "--version"}, true},
		{"node version", []string{"--version", "v1"}, false},
		{"node version among flags", []string{"--weight", "5", "--version", "v1", "--zone", "a"}, false},
		{"node version with =", []string{"--version=v1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := buildRequested(tt.args); got != tt.want {
				t.Fatalf("buildRequested(%q) = %v, want %v", tt.args, got, tt.want)
			}
		})
	}
}
