package middleware

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/reqinfo"
	"github.com/microlb/microlb/api-gateway/route"
	"github.com/microlb/microlb/internal/testutil"
)

// TestRateLimiterBounded feeds 1,000,000 random client keys (a random API
// key or IPv6 address per request): the bucket count stays at the cap, and
// the heap that the buckets hold stays within a bound that 1,000,000
// buckets would blow by far.
func TestRateLimiterBounded(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 200_000
	}
	l := NewRateLimiter(DefaultMaxBuckets)
	rl := &config.RateLimit{RPS: 1, Burst: 1}
	before := testutil.MemStats()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		k := bucketKey{"r", "principal:" + strconv.FormatUint(r.Uint64(), 36)}
		if ok, _, _ := l.take(k, rl); !ok {
			t.Fatalf("request %d: a new bucket had no token", i)
		}
	}
	if got := l.Len(); got != l.Cap() || l.Cap() != DefaultMaxBuckets {
		t.Fatalf("%d buckets, cap %d, want exactly the cap %d", got, l.Cap(), DefaultMaxBuckets)
	}
	after := testutil.MemStats()
	const bound = 64 << 20 // 65,536 buckets in well under 64 MiB; 1,000,000 would need several hundred
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d random keys: %d buckets, heap grew by %d KiB", n, l.Len(), grew>>10)
	if grew > bound {
		t.Fatalf("the heap grew by %d MiB over %d keys, want at most %d MiB", grew>>20, n, bound>>20)
	}
	runtime.KeepAlive(l)
}

// TestRateLimiterEvictsLRU: when the limiter is full a new client evicts
// the least recently used bucket, not an active one, and idle buckets are
// dropped as new ones arrive.
func TestRateLimiterEvictsLRU(t *testing.T) {
	l := NewRateLimiter(limiterShards) // one bucket per shard
	clock := time.Unix(1_700_000_000, 0)
	l.now = func() time.Time { return clock }
	rl := &config.RateLimit{RPS: 0.001, Burst: 1}
	// Find two keys of the same shard.
	a := bucketKey{"r", "a"}
	var b bucketKey
	for i := 0; ; i++ {
		b = bucketKey{"r", "b" + strconv.Itoa(i)}
		if l.shardOf(b) == l.shardOf(a) {
			break
		}
	}
	if ok, _, _ := l.take(a, rl); !ok {
		t.Fatal("a: first take")
	}
	if ok, _, _ := l.take(a, rl); ok {
		t.Fatal("a: second take got a token")
	}
	if ok, _, _ := l.take(b, rl); !ok { // evicts a: the shard holds one bucket
		t.Fatal("b: first take")
	}
	if got := l.Len(); got != 1 {
		t.Fatalf("%d buckets, want 1", got)
	}

	l = NewRateLimiter(DefaultMaxBuckets)
	l.now = func() time.Time { return clock }
	l.take(a, rl)
	clock = clock.Add(l.idle + time.Second)
	l.take(b, rl) // a is idle: dropped on the way, if b's shard is a's
	if l.shardOf(a) == l.shardOf(b) && l.Len() != 1 {
		t.Fatalf("%d buckets, want the idle one dropped", l.Len())
	}
}

// TestLimitKey: api_key and principal count the authenticated principal;
// without one, and for ip, the client IP counts, IPv6 by its /64.
func TestLimitKey(t *testing.T) {
	tests := []struct {
		name, by, principal, ip, want string
	}{
		{"ip", config.LimitByIP, "apikey:k", "192.0.2.1", "ip:192.0.2.1"},
		{"api_key", config.LimitByAPIKey, "apikey:k", "192.0.2.1", "principal:apikey:k"},
		{"principal", config.LimitByPrincipal, "jwt:alice", "192.0.2.1", "principal:jwt:alice"},
		{"principal without auth", config.LimitByPrincipal, "", "192.0.2.1", "ip:192.0.2.1"},
		{"IPv6 by /64", config.LimitByIP, "", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "ip:2001:db8:1:2::/64"},
		{"IPv6, same /64", config.LimitByIP, "", "2001:db8:1:2::1", "ip:2001:db8:1:2::/64"},
		{"IPv6, next /64", config.LimitByIP, "", "2001:db8:1:3::1", "ip:2001:db8:1:3::/64"},
		{"IPv4-mapped", config.LimitByIP, "", "::ffff:192.0.2.1", "ip:::ffff:192.0.2.1"},
		{"not an address", config.LimitByIP, "", "garbage", "ip:garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LimitKey(tt.by, &reqinfo.Info{Principal: tt.principal, ClientIP: tt.ip}); got != tt.want {
				t.Fatalf("LimitKey = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRateLimiterRace takes tokens from 100 goroutines over shared and
// distinct keys while the cap evicts.
func TestRateLimiterRace(t *testing.T) {
	l := NewRateLimiter(256)
	rl := &config.RateLimit{RPS: 1000, Burst: 10}
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				l.take(bucketKey{"r", strconv.Itoa(g*1000 + i%20)}, rl)
				l.take(bucketKey{"r", "shared"}, rl)
			}
		}()
	}
	wg.Wait()
	if got := l.Len(); got > l.Cap() {
		t.Fatalf("%d buckets over the cap %d", got, l.Cap())
	}
}

// TestSecurityLayersFailClosed: auth and the rate limiter refuse a request
// that carries no route information instead of letting it through.
func TestSecurityLayersFailClosed(t *testing.T) {
	a, err := NewAuthenticator(config.Auth{})
	if err != nil {
		t.Fatal(err)
	}
	reached := false
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached = true })
	layers := map[string]http.Handler{
		"auth":       Auth(a)(next),
		"rate_limit": RateLimit(NewRateLimiter(0))(next),
	}
	for name, h := range layers {
		for _, withInfo := range []bool{false, true} {
			t.Run(name+"/info="+strconv.FormatBool(withInfo), func(t *testing.T) {
				reached = false
				req := httptest.NewRequest("GET", "/x", nil)
				if withInfo {
					req = req.WithContext(reqinfo.NewContext(req.Context(), &reqinfo.Info{})) // Info, but no Route
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if reached || rec.Code != http.StatusInternalServerError {
					t.Fatalf("status %d, reached %v: want 500 and not reached", rec.Code, reached)
				}
			})
		}
	}
	// With a route, a route without auth passes.
	req := httptest.NewRequest("GET", "/x", nil)
	req = req.WithContext(reqinfo.NewContext(req.Context(), &reqinfo.Info{Route: &route.Route{Name: "r", Auth: config.RouteAuth{Mode: config.AuthNone}}}))
	reached = false
	Auth(a)(next).ServeHTTP(httptest.NewRecorder(), req)
	if !reached {
		t.Fatal("a route without auth was refused")
	}
}

func BenchmarkRateLimiterTake(b *testing.B) {
	l := NewRateLimiter(DefaultMaxBuckets)
	rl := &config.RateLimit{RPS: 1e9, Burst: 1 << 30}
	k := bucketKey{"r", "ip:192.0.2.1"}
	b.ReportAllocs()
	for b.Loop() {
		l.take(k, rl)
	}
}
