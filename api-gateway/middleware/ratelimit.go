package middleware

import (
	"hash/fnv"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/config"
)

// RateLimiter holds token buckets (golang.org/x/time/rate) per route and
// client. Buckets idle for longer than the idle time are dropped, so that
// memory stays bounded by the clients of the last few minutes.
type RateLimiter struct {
	now       func() time.Time
	idle      time.Duration
	keyHeader string

	mu        sync.Mutex
	buckets   map[bucketKey]*bucket
	lastSweep time.Time
}

type bucketKey struct {
	route  string
	client string
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// NewRateLimiter returns a limiter whose api_key buckets read the key from
// apiKeyHeader (and "Authorization: ApiKey <key>").
func NewRateLimiter(apiKeyHeader string) *RateLimiter {
	if apiKeyHeader == "" {
		apiKeyHeader = config.DefaultAPIKeyHeader
	}
	return &RateLimiter{now: time.Now, idle: config.DefaultRateLimitBucket, keyHeader: apiKeyHeader, buckets: map[bucketKey]*bucket{}}
}

// RateLimit enforces the route's rate limit: one token per request from a
// bucket per client IP, or per API key (per IP for requests without one).
// An empty bucket answers 429 with Retry-After, the whole seconds until a
// token is available. Every limited response carries X-RateLimit-Limit and
// X-RateLimit-Remaining.
func RateLimit(l *RateLimiter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			info := InfoFrom(r.Context())
			if info == nil || info.Route == nil || info.Route.RateLimit == nil || info.Route.RateLimit.RPS <= 0 {
				next.ServeHTTP(w, r)
				return
			}
			rl := info.Route.RateLimit
			client := "ip:" + info.ClientIP
			if rl.By == config.LimitByAPIKey {
				if k := APIKeyFrom(r, l.keyHeader); k != "" {
					h := fnv.New64a()
					h.Write([]byte(k))
					client = "key:" + strconv.FormatUint(h.Sum64(), 36)
				}
			}
			ok, remaining, wait := l.take(bucketKey{info.Route.Name, client}, rl)
			hd := w.Header()
			hd.Set("X-RateLimit-Limit", strconv.FormatFloat(rl.RPS, 'f', -1, 64))
			hd.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
			if !ok {
				secs := max(1, int(math.Ceil(wait.Seconds())))
				hd.Set("Retry-After", strconv.Itoa(secs))
				apierr.Write(w, http.StatusTooManyRequests, "rate limit exceeded; retry after "+strconv.Itoa(secs)+"s")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// take takes one token from the client's bucket. It returns whether it got
// one, the whole tokens left, and otherwise how long until one is there.
func (l *RateLimiter) take(k bucketKey, rl *config.RateLimit) (ok bool, remaining int, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	b := l.buckets[k]
	if b == nil {
		burst := rl.Burst
		if burst <= 0 {
			burst = max(1, int(math.Ceil(rl.RPS)))
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(rl.RPS), burst)}
		l.buckets[k] = b
	}
	b.last = now
	if now.Sub(l.lastSweep) > l.idle/4 {
		l.sweepLocked(now)
	}
	l.mu.Unlock()

	res := b.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, 0, time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, 0, d
	}
	return true, max(0, int(b.lim.TokensAt(now))), 0
}

// sweepLocked drops idle buckets. The caller holds l.mu.
func (l *RateLimiter) sweepLocked(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.last) > l.idle {
			delete(l.buckets, k)
		}
	}
}

// Len returns the number of live buckets.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
