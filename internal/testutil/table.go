package testutil

import (
	"reflect"
	"testing"
)

// Case is one row of a table test of a function of one argument: its name,
// the argument and the result wanted. Make it with Row.
type Case[In, Out any] struct {
	Name string
	In   In
	Want Out
}

// Row returns the case named name: f(in) should be want.
func Row[In, Out any](name string, in In, want Out) Case[In, Out] {
	return Case[In, Out]{Name: name, In: in, Want: want}
}

// Table runs f on each case's In, one subtest per case named by the case,
// and fails the subtest when the result is not deeply equal to Want. fn is
// f's name, for the failure message.
func Table[In, Out any](t *testing.T, fn string, f func(In) Out, cases ...Case[In, Out]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if got := f(c.In); !reflect.DeepEqual(got, c.Want) {
				t.Fatalf("%s(%#v) = %#v, want %#v", fn, c.In, got, c.Want)
			}
		})
	}
}
