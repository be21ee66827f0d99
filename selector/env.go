package selector

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go-micro.dev/v4/logger"
	"go-micro.dev/v4/selector"
)

// The environment variables read by the --selector microlb route (and by
// EnvOptions). Each is optional; an empty one means the option's default.
const (
	EnvStrategy  = "MICROLB_STRATEGY"   // a strategy name, e.g. roundrobin
	EnvZone      = "MICROLB_ZONE"       // WithZone
	EnvSlowStart = "MICROLB_SLOW_START" // WithSlowStart, a Go duration such as 10s
)

// EnvOptions reads the MICROLB_* variables through getenv (os.Getenv in
// production) and returns their options. A malformed value is left out, so
// that its option keeps its default, and is reported in the error along with
// every other malformed one.
func EnvOptions(getenv func(string) string) ([]selector.Option, error) {
	var opts []selector.Option
	var errs []error
	if v := strings.TrimSpace(getenv(EnvStrategy)); v != "" {
		if s, err := ParseStrategy(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w; using %s", EnvStrategy, err, DefaultStrategy))
		} else {
			opts = append(opts, WithStrategy(s))
		}
	}
	if v := strings.TrimSpace(getenv(EnvZone)); v != "" {
		opts = append(opts, WithZone(v))
	}
	if v := strings.TrimSpace(getenv(EnvSlowStart)); v != "" {
		if d, err := time.ParseDuration(v); err != nil || d < 0 {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 10s; slow start stays off", EnvSlowStart, v))
		} else {
			opts = append(opts, WithSlowStart(d))
		}
	}
	return opts, errors.Join(errs...)
}

// newFromEnv is the --selector microlb constructor: NewSelector with the
// options of the MICROLB_* variables first, so that options passed in code
// win. A malformed variable is logged at error level through the selector's
// logger and its option keeps its default.
func newFromEnv(opts ...selector.Option) selector.Selector {
	return newWithEnv(os.Getenv, opts...)
}

func newWithEnv(getenv func(string) string, opts ...selector.Option) *Selector {
	env, err := EnvOptions(getenv)
	s := New(append(env, opts...)...)
	if err != nil {
		s.cfg.Load().log.Logf(logger.ErrorLevel, "microlb: %v", err)
	}
	return s
}
