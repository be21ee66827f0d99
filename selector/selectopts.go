package selector

import (
	"context"
	"sync"

	"go-micro.dev/v4/selector"
)

type (
	keyOptKey      struct{}
	strategyOptKey struct{}
)

// callOpts carries the microlb select options of one Select. It is the
// Context of a pooled SelectOptions, so that WithKey and UseStrategy set
// fields instead of allocating a context per call; foreign contexts built on
// top of it still answer through Value.
type callOpts struct {
	context.Context
	so       selector.SelectOptions
	key      string
	hasKey   bool
	strategy Strategy
}

// Value answers the microlb option keys, then defers to the parent context.
func (o *callOpts) Value(k any) any {
	switch k.(type) {
	case keyOptKey:
		if o.hasKey {
			return o.key
		}
		return nil
	case strategyOptKey:
		if o.strategy != "" {
			return o.strategy
		}
		return nil
	}
	return o.Context.Value(k)
}

var callOptsPool = sync.Pool{New: func() any { return new(callOpts) }}

// applySelectOptions runs opts against a pooled SelectOptions and reads the
// microlb options back. The caller calls release when done with the result.
func applySelectOptions(opts []selector.SelectOption) *callOpts {
	o := callOptsPool.Get().(*callOpts)
	o.Context = context.Background()
	o.so = selector.SelectOptions{Context: o}
	for _, opt := range opts {
		opt(&o.so)
	}
	if ctx := o.so.Context; ctx != o && ctx != nil {
		// An option replaced the context: read the values through it.
		if v, ok := ctx.Value(keyOptKey{}).(string); ok {
			o.key, o.hasKey = v, true
		}
		if v, ok := ctx.Value(strategyOptKey{}).(Strategy); ok {
			o.strategy = v
		}
	}
	return o
}

// release returns o to the pool.
func (o *callOpts) release() {
	*o = callOpts{}
	callOptsPool.Put(o)
}

// withValue adds k=v to ctx, treating a nil ctx as Background.
func withValue(ctx context.Context, k, v any) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithValue(ctx, k, v)
}

// WithKey sets the hash key of one call, for the Hash strategy. A call with
// no key under Hash is a random pick.
func WithKey(key string) selector.SelectOption {
	return func(o *selector.SelectOptions) {
		if co, ok := o.Context.(*callOpts); ok {
			co.key, co.hasKey = key, true
			return
		}
		o.Context = withValue(o.Context, keyOptKey{}, key)
	}
}

// UseStrategy overrides the strategy for one call. An unknown strategy is
// ignored in favour of the selector's default.
func UseStrategy(s Strategy) selector.SelectOption {
	return func(o *selector.SelectOptions) {
		if s.index() < 0 {
			return
		}
		if co, ok := o.Context.(*callOpts); ok {
			co.strategy = s
			return
		}
		o.Context = withValue(o.Context, strategyOptKey{}, s)
	}
}
