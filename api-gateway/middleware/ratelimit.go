package middleware

import (
	"container/list"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/microlb/microlb/api-gateway/apierr"
	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/reqinfo"
)

// DefaultMaxBuckets bounds the rate limiter's buckets: 65,536 buckets take
// a few tens of MiB at most, however many clients (or random keys, or IPv6
// addresses) there are.
const DefaultMaxBuckets = 1 << 16

// limiterShards splits the buckets so that requests of different clients
// rarely wait on the same mutex.
const limiterShards = 64

// RateLimiter holds token buckets (golang.org/x/time/rate) per route and
// client. The buckets live in limiterShards shards, each a map plus a
// least-recently-used list: taking a token moves its bucket to the front, a
// new bucket beyond the shard's share of the cap evicts the least recently
// used one, and buckets idle for longer than the idle time are dropped from
// the back of the list as new ones arrive. So memory is bounded by the cap,
// and no request ever waits on a sweep of all buckets.
type RateLimiter struct {
	now      func() time.Time
	idle     time.Duration
	perShard int
	shards   [limiterShards]limiterShard
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[bucketKey]*list.Element // of *bucket
	lru     list.List                   // front: most recently used
}

type bucketKey struct {
	route  string
	client string
}

type bucket struct {
	key  bucketKey
	lim  *rate.Limiter
	last time.Time
}

// NewRateLimiter returns a limiter of at most maxBuckets buckets
// (DefaultMaxBuckets when <= 0).
func NewRateLimiter(maxBuckets int) *RateLimiter {
	if maxBuckets <= 0 {
		maxBuckets = DefaultMaxBuckets
	}
	l := &RateLimiter{now: time.Now, idle: config.DefaultRateLimitBucket, perShard: max(1, maxBuckets/limiterShards)}
	for i := range l.shards {
		l.shards[i].buckets = map[bucketKey]*list.Element{}
	}
	return l
}

// RateLimit enforces the route's rate limit: one token per request from a
// bucket per client. It runs after auth, so that by: api_key and by:
// principal count the identity auth established (info.Principal), never a
// header the client may vary at will; without a principal (a route without
// auth, by: principal) and for by: ip the client IP counts, an IPv6 client
// by its /64, since one host commonly holds a whole /64. An empty bucket
// answers 429 with Retry-After, the whole seconds until a token is
// available. Every limited response carries X-RateLimit-Limit and
// X-RateLimit-Remaining.
func RateLimit(l *RateLimiter) func(http.Handler) http.Handler {
	return guard(func(w http.ResponseWriter, r *http.Request, next http.Handler, info *reqinfo.Info) {
		rl := info.Route.RateLimit
		if rl == nil || rl.RPS <= 0 {
			next.ServeHTTP(w, r)
			return
		}
		ok, remaining, wait := l.take(bucketKey{info.Route.Name, LimitKey(rl.By, info)}, rl)
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

// LimitKey is the client a request counts against under by: the
// authenticated principal for api_key and principal (when auth found one),
// the client IP otherwise; IPv6 addresses count by their /64.
func LimitKey(by string, info *reqinfo.Info) string {
	if (by == config.LimitByAPIKey || by == config.LimitByPrincipal) && info.Principal != "" {
		return "principal:" + info.Principal
	}
	return "ip:" + clientNet(info.ClientIP)
}

// clientNet is ip itself, or the /64 of an IPv6 address.
func clientNet(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// shardOf hashes k (FNV-1a) to its shard.
func (l *RateLimiter) shardOf(k bucketKey) *limiterShard {
	h := uint32(2166136261)
	for i := 0; i < len(k.route); i++ {
		h = (h ^ uint32(k.route[i])) * 16777619
	}
	h = (h ^ 0xff) * 16777619 // a separator: ("ab","c") and ("a","bc") differ
	for i := 0; i < len(k.client); i++ {
		h = (h ^ uint32(k.client[i])) * 16777619
	}
	return &l.shards[h%limiterShards]
}

// take takes one token from the client's bucket. It returns whether it got
// one, the whole tokens left, and otherwise how long until one is there.
func (l *RateLimiter) take(k bucketKey, rl *config.RateLimit) (ok bool, remaining int, wait time.Duration) {
	now := l.now()
	s := l.shardOf(k)
	s.mu.Lock()
	var b *bucket
	if e := s.buckets[k]; e != nil {
		b = e.Value.(*bucket)
		s.lru.MoveToFront(e)
	} else {
		s.evictLocked(now, l.idle, l.perShard)
		b = &bucket{key: k, lim: rate.NewLimiter(rate.Limit(rl.RPS), rl.Burst)} // config.Defaulted set Burst
		s.buckets[k] = s.lru.PushFront(b)
	}
	b.last = now
	s.mu.Unlock()

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

// evictLocked makes room for one bucket: it drops the least recently used
// bucket while the shard is full, and idle ones from the back of the list
// (a few per call, so the work per request stays constant). The caller
// holds s.mu.
func (s *limiterShard) evictLocked(now time.Time, idle time.Duration, cap int) {
	for range 4 {
		e := s.lru.Back()
		if e == nil {
			return
		}
		b := e.Value.(*bucket)
		if len(s.buckets) < cap && now.Sub(b.last) <= idle {
			return
		}
		s.lru.Remove(e)
		delete(s.buckets, b.key)
	}
}

// Len returns the number of live buckets.
func (l *RateLimiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.buckets)
		s.mu.Unlock()
	}
	return n
}

// Cap returns the most buckets the limiter holds.
func (l *RateLimiter) Cap() int { return l.perShard * limiterShards }
