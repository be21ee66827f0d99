package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/consul/api"
)

// ConsulScheme prefixes a --config (MICRO_CONFIG) value that names a Consul
// KV key instead of a file: consul://microlb/gateway.yaml reads the YAML
// stored at the key microlb/gateway.yaml.
const ConsulScheme = "consul://"

// DefaultConsulAddress is the Consul agent a consul:// configuration is
// read from when neither --registry_address nor MICRO_REGISTRY_ADDRESS
// names one.
const DefaultConsulAddress = "127.0.0.1:8500"

// Variables that carry the Consul ACL token for a consul:// configuration,
// as for the consul command: the token itself, or a file holding it (which
// wins when both are set).
const (
	EnvConsulToken     = "CONSUL_HTTP_TOKEN"
	EnvConsulTokenFile = "CONSUL_HTTP_TOKEN_FILE"
)

// KV watch timing. A blocking query waits up to kvWaitTime for a change; a
// failed one is retried after kvRetry times the failures in a row, at most
// kvMaxRetry, on the next address of the list.
const (
	kvWaitTime   = 30 * time.Second
	kvRetry      = 100 * time.Millisecond
	kvMaxRetry   = 2 * time.Second
	kvGetTimeout = 10 * time.Second // the first read, at startup
)

// ConsulKey returns the key named by a consul://<key> configuration source;
// ok is false for anything else (a file path). Leading slashes are dropped
// (consul:///a/b is a/b); an empty key, or one ending in "/" (a folder), is
// an error.
func ConsulKey(src string) (key string, ok bool, err error) {
	rest, ok := strings.CutPrefix(src, ConsulScheme)
	if !ok {
		return "", false, nil
	}
	key = strings.TrimLeft(rest, "/")
	switch {
	case key == "":
		return "", true, fmt.Errorf("%q names no Consul KV key: want consul://<key>, e.g. consul://microlb/gateway.yaml", src)
	case strings.HasSuffix(key, "/"):
		return "", true, fmt.Errorf("%q names a Consul KV folder, not a key", src)
	case strings.ContainsAny(key, "?#"):
		return "", true, fmt.Errorf("%q: a Consul KV key here may not contain ? or #", src)
	}
	return key, true, nil
}

// consulAddrs returns the Consul agents to read from: the comma-separated
// registry address list, a missing port meaning 8500, or
// DefaultConsulAddress.
func consulAddrs(list string) []string {
	var out []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, "8500")
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		out = []string{DefaultConsulAddress}
	}
	return out
}

// kvValue is what a key held at one index: its data, or err when it did
// not exist.
type kvValue struct {
	data  []byte
	index uint64
	err   error
}

// kvClient reads one key from a list of Consul agents, moving on to the
// next one when a request fails.
type kvClient struct {
	key     string
	addrs   []string
	clients []*api.Client
	cur     atomic.Int32 // index in clients of the agent in use
}

func newKVClient(key string, addrs []string, getenv func(string) string) (*kvClient, error) {
	c := &kvClient{key: key, addrs: addrs}
	for _, a := range addrs {
		cl, err := api.NewClient(&api.Config{Address: a, Scheme: "http",
			Token: getenv(EnvConsulToken), TokenFile: getenv(EnvConsulTokenFile)})
		if err != nil {
			return nil, fmt.Errorf("consul %s: %w", a, err)
		}
		c.clients = append(c.clients, cl)
	}
	return c, nil
}

// get reads the key from the agent in use, blocking until its index passes
// wait (0: at once). A request error moves on to the next agent.
func (c *kvClient) get(ctx context.Context, wait uint64) (kvValue, error) {
	i := int(c.cur.Load())
	q := &api.QueryOptions{AllowStale: true, WaitIndex: wait, WaitTime: kvWaitTime}
	pair, meta, err := c.clients[i].KV().Get(c.key, q.WithContext(ctx))
	if err != nil {
		c.cur.CompareAndSwap(int32(i), int32((i+1)%len(c.clients)))
		return kvValue{}, fmt.Errorf("consul %s: reading KV key %q: %w", c.addrs[i], c.key, err)
	}
	if pair == nil {
		return kvValue{index: meta.LastIndex, err: fmt.Errorf("consul KV key %q not found at %s", c.key, c.addrs[i])}, nil
	}
	return kvValue{data: pair.Value, index: meta.LastIndex}, nil
}

// first reads the key once, trying every agent in turn.
func (c *kvClient) first(ctx context.Context) (kvValue, error) {
	var errs []error
	for range c.clients {
		v, err := c.get(ctx, 0)
		if err == nil {
			return v, nil
		}
		errs = append(errs, err)
	}
	return kvValue{}, errors.Join(errs...)
}

// readKV reads the key once: Load without a Loader.
func readKV(key string, addrs []string, getenv func(string) string) ([]byte, error) {
	c, err := newKVClient(key, addrs, getenv)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), kvGetTimeout)
	defer cancel()
	v, err := c.first(ctx)
	if err != nil {
		return nil, err
	}
	return v.data, v.err
}

// KVWatch keeps the value of one Consul KV key current with a blocking
// query, and signals each change on Changed.
type KVWatch struct {
	c       *kvClient
	latest  atomic.Pointer[kvValue]
	changed chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
	once    sync.Once
}

// WatchKV reads key from the first of addrs that answers and keeps
// watching it. A key that does not exist is an error, so that a gateway
// does not start on the defaults by mistake. Later, a key that disappears
// makes Value return an error (and the old configuration stays in use);
// an agent that fails is replaced by the next one of addrs, and meanwhile
// Value keeps the last value read.
func WatchKV(key string, addrs []string, getenv func(string) string) (*KVWatch, error) {
	c, err := newKVClient(key, addrs, getenv)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), kvGetTimeout)
	v, err := c.first(ctx)
	cancel()
	if err == nil {
		err = v.err
	}
	if err != nil {
		return nil, fmt.Errorf("config %s%s: %w (write the gateway's YAML there first: consul kv put %s @gateway.yaml)",
			ConsulScheme, key, err, key)
	}
	ctx, cancel = context.WithCancel(context.Background())
	w := &KVWatch{c: c, changed: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	w.latest.Store(&v)
	go w.run(ctx)
	return w, nil
}

// Value returns the key's latest data, or the error saying it is gone.
func (w *KVWatch) Value() ([]byte, error) {
	v := w.latest.Load()
	return v.data, v.err
}

// Changed receives a value after each change of the key's data (or of
// whether it exists). Changes that come faster than they are received
// collapse into one.
func (w *KVWatch) Changed() <-chan struct{} { return w.changed }

// Close stops the watch and waits for it to end.
func (w *KVWatch) Close() {
	w.once.Do(func() {
		w.cancel()
		<-w.done
	})
}

// run is the watch loop: one blocking query after another, each waiting
// for the index the previous one returned to move.
func (w *KVWatch) run(ctx context.Context) {
	defer close(w.done)
	idx := w.latest.Load().index
	failures := 0
	for ctx.Err() == nil {
		v, err := w.c.get(ctx, idx)
		if err != nil {
			failures++
			select {
			case <-ctx.Done():
			case <-time.After(min(kvRetry*time.Duration(failures), kvMaxRetry)):
			}
			continue
		}
		failures = 0
		switch {
		case v.index < idx: // the index went backwards (a restored snapshot): start over
			idx = 0
			continue
		case v.index == idx: // the wait timed out
			continue
		}
		idx = v.index
		old := w.latest.Load()
		if bytes.Equal(old.data, v.data) && (old.err == nil) == (v.err == nil) {
			continue
		}
		w.latest.Store(&v)
		select {
		case w.changed <- struct{}{}:
		default:
		}
	}
}
