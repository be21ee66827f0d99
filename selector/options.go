package selector

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
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
	strat         uint8             // strategy's index in Strategies
	custom        selector.Strategy // a go-micro strategy function, or nil
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
// go-micro's selector.SetStrategy also works (see fromGoMicro); when both are
// given, WithStrategy wins.
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

// newConfig reads the microlb options, and go-micro's Strategy and Logger,
// out of go-micro's Options. An invalid option is reported in the returned
// error and keeps its value in prev (its default when prev is nil); every
// valid option applies.
func newConfig(o selector.Options, prev *config) (*config, error) {
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
	old := prev
	if old == nil {
		old = &config{strategy: c.strategy, failures: c.failures, ejectBase: c.ejectBase, ejectMax: c.ejectMax,
			resync: c.resync, decay: c.decay}
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Strategy != nil {
		c.strategy, c.custom = fromGoMicro(o.Strategy)
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if v, ok := ctx.Value(strategyKey{}).(Strategy); ok {
		if st, err := ParseStrategy(string(v)); err != nil {
			bad("%v; keeping %s", err, old.strategyName())
			c.strategy, c.custom = old.strategy, old.custom
		} else {
			c.strategy, c.custom = st, nil // WithStrategy wins over SetStrategy
		}
	}
	c.strat = uint8(c.strategy.index())
	if v, ok := ctx.Value(failuresKey{}).(int); ok {
		if v < 1 {
			bad("failure threshold %d: must be at least 1; keeping %d", v, old.failures)
			c.failures = old.failures
		} else {
			c.failures = int32(min(v, math.MaxInt32))
		}
	}
	if v, ok := ctx.Value(ejectionKey{}).(ejection); ok {
		if v.base <= 0 {
			bad("ejection time %s: must be positive; keeping %s", v.base, old.ejectBase)
			c.ejectBase, c.ejectMax = old.ejectBase, old.ejectMax
		} else {
			c.ejectBase, c.ejectMax = v.base, max(v.max, v.base)
		}
	}
	if v, ok := ctx.Value(balanceFactorKey{}).(float64); ok {
		if v < 0 {
			bad("hash balance factor %g: must be 0 (off) or above 1; keeping %g", v, old.balanceFactor)
			c.balanceFactor = old.balanceFactor
		} else if v > 0 {
			c.balanceFactor = max(v, 1)
		}
	}
	durations := []struct {
		key      any
		name     string
		zeroOK   bool
		dst, old *time.Duration
	}{
		{emptyHoldKey{}, "empty hold", true, &c.emptyHold, &old.emptyHold},
		{resyncKey{}, "resync interval", false, &c.resync, &old.resync},
		{decayKey{}, "latency decay", false, &c.decay, &old.decay},
		{slowStartKey{}, "slow start", true, &c.slowStart, &old.slowStart},
	}
	for _, d := range durations {
		v, ok := ctx.Value(d.key).(time.Duration)
		switch {
		case !ok:
		case v < 0 || (v == 0 && !d.zeroOK):
			bad("%s %s: must be positive; keeping %s", d.name, v, *d.old)
			*d.dst = *d.old
		default:
			*d.dst = v
		}
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
	return c, errors.Join(errs...)
}

// pin returns options that set every microlb option to c's value, so that an
// invalid option, once reported, is not reported again by a later Init.
func (c *config) pin() []selector.Option {
	var strat any = c.strategy
	if c.custom != nil {
		strat = nil // SetStrategy's function stays in charge
	}
	return []selector.Option{
		setOption(strategyKey{}, strat),
		setOption(failuresKey{}, int(c.failures)),
		setOption(ejectionKey{}, ejection{c.ejectBase, c.ejectMax}),
		setOption(balanceFactorKey{}, c.balanceFactor),
		setOption(emptyHoldKey{}, c.emptyHold),
		setOption(resyncKey{}, c.resync),
		setOption(decayKey{}, c.decay),
		setOption(slowStartKey{}, c.slowStart),
	}
}

// strategyName names c's strategy for messages.
func (c *config) strategyName() string {
	if c.custom != nil {
		return "the go-micro strategy function"
	}
	return string(c.strategy)
}

// fromGoMicro maps a go-micro strategy function (selector.SetStrategy) to a
// microlb strategy: go-micro's RoundRobin to RoundRobin, its Random to Random
// (compared by function pointer). Any other function is returned as custom:
// Select then applies it as go-micro's own selector does, to copies of the
// snapshot's services after the filters, and it makes the whole choice. That
// is the slow path: a copy per Select, and no ejection or zone.
func fromGoMicro(fn selector.Strategy) (s Strategy, custom selector.Strategy) {
	switch reflect.ValueOf(fn).Pointer() {
	case reflect.ValueOf(selector.RoundRobin).Pointer():
		return RoundRobin, nil
	case reflect.ValueOf(selector.Random).Pointer():
		return Random, nil
	}
	return DefaultStrategy, fn
}
