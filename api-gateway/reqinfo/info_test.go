package reqinfo

import (
	"context"
	"net/http/httptest"
	"testing"
)

type stateA struct{ n int }
type stateB struct{ n int }

// TestSlot checks that a slot is typed, set once, and safe on a nil Info.
func TestSlot(t *testing.T) {
	var a Slot[stateA]
	var b Slot[stateB]
	if a.Set(nil, &stateA{}) || a.Get(nil) != nil {
		t.Fatal("a nil Info has no slot")
	}
	info := New(httptest.NewRecorder(), 0)
	if got := a.Get(info); got != nil {
		t.Fatalf("empty slot gave %v", got)
	}
	v := &stateA{n: 1}
	if !a.Set(info, v) {
		t.Fatal("could not set an empty slot")
	}
	if a.Set(info, &stateA{n: 2}) || b.Set(info, &stateB{}) {
		t.Fatal("set a slot that was taken")
	}
	if got := a.Get(info); got != v {
		t.Fatalf("got %v, want %v", got, v)
	}
	if got := b.Get(info); got != nil {
		t.Fatalf("another type's slot gave %v", got)
	}
}

// TestNewContext checks that the Info New made travels in the context with
// its Writer and start time.
func TestNewContext(t *testing.T) {
	if FromContext(context.Background()) != nil {
		t.Fatal("Info outside the chain")
	}
	info := New(httptest.NewRecorder(), 0)
	if info.Writer == nil || info.Start.IsZero() {
		t.Fatalf("New gave %+v", info)
	}
	if got := FromContext(NewContext(context.Background(), info)); got != info {
		t.Fatalf("got %p, want %p", got, info)
	}
}
