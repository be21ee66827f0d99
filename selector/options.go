package selector

import (
	"context"
	"math/rand/v2"
	"time"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/selector"
)

// Defaults for the options below.
const (
	DefaultStrategy         = Weighted
	DefaultFailureThreshold = 5
	DefaultEjectionBase     = 10 * time.Second
	DefaultEjectionMax      = 5 * time.Minute
	DefaultResync           = 5 * time.Second
	DefaultLatencyDecay     = 10 * time.Second
)

// config is the selector's parsed configuration. It is immutable once built;
// Init builds a new one and swaps it in.
type config struct {
	strategy      Strategy
	strat         uint8 // strategy's index in Strategies
	failures      int32
	ejectBase     time.Duration
	ejectMax      time.Duration
	balanceFactor float64
	emptyHold     time.Duration
	resync        time.Duration
	decay         time.Duration // LeastLoaded's peak-EWMA time constant
	slowStart     time.Duration
	zone          string
	now           func() time.Time
	randN         func(n int) int
	log           logger.Logger
}

type (
	strategyKey      struct{}
	failuresKey      struct{}
	ejectionKey      struct{}
	balanceFactorKey struct{}
	clockKey         struct{}
	randKey          struct{}
	emptyHoldKey     struct{}
	resyncKey        struct{}
	decayKey         struct{}
	slowStartKey     struct{}
	zoneKey          struct{}
)

type ejection struct{ base, max time.Duration }

// setOption stores v under k in the options' context, as go-micro plugins do.
func setOption(k, v any) selector.Option {
	return func(o *selector.Options) {
		if o.Context == nil {
			o.Context = context.Background()
		}
		o.Context = context.WithValue(o.Context, k, v)
	}
}

// WithStrategy sets the default strategy for every service. The default is
// Weighted, which behaves as plain round-robin when all weights are equal.
func WithStrategy(s Strategy) selector.Option { return setOption(strategyKey{}, s) }

// WithFailureThreshold sets how many consecutive failures eject a node (default 5).
func WithFailureThreshold(n int) selector.Option { return setOption(failuresKey{}, n) }

// WithEjection sets the ejection time: a node is ejected for base × the number
// of times it has been ejected, capped at max (defaults 10 s and 5 min).
func WithEjection(base, max time.Duration) selector.Option {
	return setOption(ejectionKey{}, ejection{base, max})
}

// WithHashBalanceFactor turns on bounded loads for Hash: with factor c > 1 a
// node whose in-flight count would exceed c × the average is skipped
// clockwise, as HAProxy's hash-balance-factor does. 0 turns it off (default).
// In-flight counts come from the LoadReporter call wrapper.
func WithHashBalanceFactor(c float64) selector.Option { return setOption(balanceFactorKey{}, c) }

// WithEmptyHold sets how long a service whose registry entry suddenly lists no
// node keeps serving its last known nodes (default 0: apply at once). It
// covers a registry that restarts empty, such as a Consul dev agent, until the
// services register again.
func WithEmptyHold(d time.Duration) selector.Option { return setOption(emptyHoldKey{}, d) }

// WithResync sets how often each watched service is re-read from the
// registry in addition to its watch (default 5 s): the safety net for
// changes a watch misses, such as registrations after a Consul restart.
func WithResync(d time.Duration) selector.Option { return setOption(resyncKey{}, d) }

// WithLatencyDecay sets the time constant of LeastLoaded's peak-EWMA latency
// (default 10 s, as Finagle and Linkerd): a faster sample pulls the estimate
// down with weight 1 − e^(−Δt/d), and an estimate not updated for d has
// decayed to 1/e of itself when picks read it.
func WithLatencyDecay(d time.Duration) selector.Option { return setOption(decayKey{}, d) }

// WithClock replaces time.Now, for tests of ejection and recovery.
func WithClock(now func() time.Time) selector.Option { return setOption(clockKey{}, now) }

// withRand replaces rand.IntN, for tests of the random strategies. The
// function must be safe for concurrent use.
func withRand(fn func(n int) int) selector.Option { return setOption(randKey{}, fn) }

// newConfig reads the microlb options out of go-micro's Options.
func newConfig(o selector.Options) (*config, error) {
	c := &config{
		strategy:  DefaultStrategy,
		failures:  DefaultFailureThreshold,
		ejectBase: DefaultEjectionBase,
		ejectMax:  DefaultEjectionMax,
		resync:    DefaultResync,
		decay:     DefaultLatencyDecay,
		now:       time.Now,
		randN:     rand.IntN,
		log:       o.Logger,
	}
	if c.log == nil {
		c.log = logger.DefaultLogger
	}
	c.strat = uint8(c.strategy.index())
	ctx := o.Context
	if ctx == nil {
		return c, nil
	}
	if v, ok := ctx.Value(strategyKey{}).(Strategy); ok {
		s, err := ParseStrategy(string(v))
		if err != nil {
			return nil, err
		}
		c.strategy = s
	}
	c.strat = uint8(c.strategy.index())
	if v, ok := ctx.Value(failuresKey{}).(int); ok && v > 0 {
		c.failures = int32(v)
	}
	if v, ok := ctx.Value(ejectionKey{}).(ejection); ok && v.base > 0 {
		c.ejectBase, c.ejectMax = v.base, max(v.max, v.base)
	}
	if v, ok := ctx.Value(balanceFactorKey{}).(float64); ok && v > 0 {
		c.balanceFactor = max(v, 1)
	}
	if v, ok := ctx.Value(emptyHoldKey{}).(time.Duration); ok && v > 0 {
		c.emptyHold = v
	}
	if v, ok := ctx.Value(resyncKey{}).(time.Duration); ok && v > 0 {
		c.resync = v
	}
	if v, ok := ctx.Value(decayKey{}).(time.Duration); ok && v > 0 {
		c.decay = v
	}
	if v, ok := ctx.Value(slowStartKey{}).(time.Duration); ok && v > 0 {
		c.slowStart = v
	}
	if v, ok := ctx.Value(zoneKey{}).(string); ok {
		c.zone = v
	}
	if v, ok := ctx.Value(clockKey{}).(func() time.Time); ok && v != nil {
		c.now = v
	}
	if v, ok := ctx.Value(randKey{}).(func(int) int); ok && v != nil {
		c.randN = v
	}
	return c, nil
}
