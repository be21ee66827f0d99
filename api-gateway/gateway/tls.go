package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/microlb/microlb/api-gateway/config"
)

// certPollInterval is how often a listener's certificate files are checked
// for a change (size or modification time). Tests shorten it.
var certPollInterval = 2 * time.Second

// certSource serves a listener's certificate from an atomic pointer, so
// that a renewed certificate is used by the next TLS handshake while the
// connections already open keep theirs: GetCertificate only loads.
type certSource struct {
	name              string // the listener, for logs
	certFile, keyFile string
	log               *slog.Logger

	cert atomic.Pointer[tls.Certificate]

	mu    sync.Mutex // serializes reloads
	stamp string     // size and mtime of both files at the last load
}

// newCertSource loads the key pair of t; an unreadable pair is an error.
func newCertSource(name string, t *config.TLS, log *slog.Logger) (*certSource, error) {
	c := &certSource{name: name, certFile: t.CertFile, keyFile: t.KeyFile, log: log}
	if err := c.reload(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// getCertificate is the tls.Config hook.
func (c *certSource) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.cert.Load(), nil
}

// tlsConfig is the listener's TLS configuration: TLS 1.2 or later, HTTP/2
// then HTTP/1.1 offered by ALPN, the certificate from c.
func (c *certSource) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: c.getCertificate,
	}
}

// reload reads the key pair again and swaps it in; on an error the current
// one stays.
func (c *certSource) reload() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stamp := fileStamp(c.certFile) + "|" + fileStamp(c.keyFile)
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cert.Store(&pair)
	c.stamp = stamp
	return nil
}

// changed reports whether either file differs from the last load.
func (c *certSource) changed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fileStamp(c.certFile)+"|"+fileStamp(c.keyFile) != c.stamp
}

// reloadLogged reloads and logs the outcome.
func (c *certSource) reloadLogged(why string) {
	if err := c.reload(); err != nil {
		c.log.Error("TLS certificate reload failed; the previous certificate stays in use",
			"listener", c.name, "cert_file", c.certFile, "key_file", c.keyFile, "trigger", why, "error", err.Error())
		return
	}
	c.log.Info("TLS certificate reloaded", "listener", c.name, "cert_file", c.certFile, "trigger", why)
}

// watch reloads the pair every time its files change, checking every
// interval, until ctx ends. A pair caught half-written fails to load and is
// tried again at the next change or tick.
func (c *certSource) watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	failed := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.changed() {
			continue
		}
		// Log a failing pair once per state of its files, not every tick.
		stamp := fileStamp(c.certFile) + "|" + fileStamp(c.keyFile)
		if err := c.reload(); err != nil {
			if stamp != failed {
				c.log.Error("TLS certificate reload failed; the previous certificate stays in use",
					"listener", c.name, "cert_file", c.certFile, "key_file", c.keyFile, "trigger", "file change", "error", err.Error())
				failed = stamp
			}
			continue
		}
		failed = ""
		c.log.Info("TLS certificate reloaded", "listener", c.name, "cert_file", c.certFile, "trigger", "file change")
	}
}

// fileStamp is a file's size and modification time ("" when unreadable).
func fileStamp(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprint(fi.Size(), fi.ModTime().UnixNano())
}
