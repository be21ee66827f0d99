package gateway

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go-micro.dev/v4/registry"

	"github.com/microlb/microlb/api-gateway/config"
	"github.com/microlb/microlb/api-gateway/proxy"
	"github.com/microlb/microlb/internal/testutil"
)

// testCA is a certificate authority made in the test; leaf certificates for
// 127.0.0.1 carry the serial number asked for, so that a client can tell
// which one a server presented.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "microlb test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// writeLeaf writes a certificate for 127.0.0.1 with serial number serial,
// and its key, to dir/tls.crt and dir/tls.key.
func (ca *testCA) writeLeaf(t testing.TB, dir string, serial int64) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	// Written aside and renamed, as a certificate manager does, so that the
	// watcher never reads half a file.
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{keyFile, "EC PRIVATE KEY", kder}, {certFile, "CERTIFICATE", der}} {
		testutil.WriteFile(t, f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}))
	}
	return certFile, keyFile
}

// servedGateway is a gateway run by serve on loopback listeners.
type servedGateway struct {
	*Gateway
	pub, adm string // host:port
	logs     *syncBuffer
	hup      chan os.Signal
	stop     context.CancelFunc
	done     chan error
}

// serveGateway runs a gateway for yaml over reg until the test ends; setup
// runs before it serves.
func serveGateway(t *testing.T, reg registry.Registry, yaml string, mod func(*Options), setup ...func(*Gateway)) *servedGateway {
	t.Helper()
	g, logs := buildGateway(t, reg, yaml, mod)
	for _, f := range setup {
		f(g)
	}
	pub, adm := testutil.Listen(t), testutil.Listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	s := &servedGateway{Gateway: g, pub: pub.Addr().String(), adm: adm.Addr().String(), logs: logs,
		hup: make(chan os.Signal, 1), stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- g.serve(ctx, pub, adm, s.hup) }()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	waitFor(t, "the listening line", func() bool { return len(logs.lines("api-gateway listening")) == 1 })
	return s
}

// hangUp does what SIGHUP does in the binary: reload the configuration
// and the certificates.
func (s *servedGateway) hangUp() { s.hup <- syscall.SIGHUP }

// h2Client is an HTTP client that trusts pool and speaks HTTP/2 over TLS.
func h2Client(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}}
}

// h2cClient speaks only cleartext HTTP/2 with prior knowledge.
func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

// get returns the status, protocol major version, presented certificate
// serial (0 without TLS) and body of a GET.
func get(t testing.TB, c *http.Client, url string) (code, proto int, serial int64, body string) {
	t.Helper()
	rsp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer rsp.Body.Close()
	b, _ := io.ReadAll(rsp.Body)
	if rsp.TLS != nil {
		serial = rsp.TLS.PeerCertificates[0].SerialNumber.Int64()
	}
	return rsp.StatusCode, rsp.ProtoMajor, serial, string(b)
}

func TestTLSAndHTTP2(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.writeLeaf(t, dir, 100)
	reg := registry.NewMemoryRegistry()
	startHTTP(t, reg, "plain-http", "p1")
	g := serveGateway(t, reg, fmt.Sprintf(`
server:
  tls: {cert_file: %[1]s, key_file: %[2]s}
  admin_tls: {cert_file: %[1]s, key_file: %[2]s}
routes:
  - {name: plain, path: /plain, kind: proxy, service: plain-http, strip_prefix: true}
`, certFile, keyFile), nil)

	tests := []struct {
		name, url string
		client    *http.Client
		wantProto int
	}{
		{"public over HTTP/2", "https://" + g.pub + "/plain/x", h2Client(ca.pool), 2},
		{"admin over HTTP/2", "https://" + g.adm + "/healthz", h2Client(ca.pool), 2},
		{"public over HTTP/1.1", "https://" + g.pub + "/plain/x", &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}, TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, proto, serial, body := get(t, tt.client, tt.url)
			if code != 200 || proto != tt.wantProto || serial != 100 {
				t.Errorf("got %d HTTP/%d serial %d %s; want 200 HTTP/%d serial 100", code, proto, serial, body, tt.wantProto)
			}
		})
	}
	t.Run("cleartext refused", func(t *testing.T) {
		rsp, err := http.Get("http://" + g.pub + "/plain/x")
		if err == nil {
			defer rsp.Body.Close()
			if rsp.StatusCode != http.StatusBadRequest {
				t.Errorf("cleartext request to a TLS listener: %d", rsp.StatusCode)
			}
		}
	})
}

func TestH2C(t *testing.T) {
	reg := registry.NewMemoryRegistry()
	startHTTP(t, reg, "plain-http", "p1")
	g := serveGateway(t, reg, `
server: {h2c: true}
routes:
  - {name: plain, path: /plain, kind: proxy, service: plain-http, strip_prefix: true}
`, nil)
	tests := []struct {
		name      string
		client    *http.Client
		wantProto int
	}{
		{"prior knowledge HTTP/2", h2cClient(), 2},
		{"HTTP/1.1 still served", &http.Client{Transport: &http.Transport{}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, proto, _, body := get(t, tt.client, "http://"+g.pub+"/plain/x")
			if code != 200 || proto != tt.wantProto || !strings.Contains(body, `"node_id":"p1"`) {
				t.Errorf("got %d HTTP/%d %s; want 200 HTTP/%d from p1", code, proto, body, tt.wantProto)
			}
		})
	}
	t.Run("off by default", func(t *testing.T) {
		g := serveGateway(t, reg, "", nil)
		if _, err := h2cClient().Get("http://" + g.pub + "/healthz"); err == nil {
			t.Error("cleartext HTTP/2 accepted without h2c: true")
		}
	})
}

func TestCertificateRotation(t *testing.T) {
	old := certPollInterval
	t.Cleanup(func() { certPollInterval = old })
	tests := []struct {
		name    string
		poll    time.Duration // the watcher's interval
		trigger func(g *servedGateway)
	}{
		{"SIGHUP", time.Hour, (*servedGateway).hangUp},
		{"file change", 20 * time.Millisecond, func(g *servedGateway) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certPollInterval = tt.poll // read by serve before it logs that it listens
			ca := newTestCA(t)
			dir := t.TempDir()
			certFile, keyFile := ca.writeLeaf(t, dir, 1)
			g := serveGateway(t, registry.NewMemoryRegistry(), fmt.Sprintf(`
server:
  admin_tls: {cert_file: %s, key_file: %s}
`, certFile, keyFile), nil)
			url := "https://" + g.adm + "/healthz"
			kept := h2Client(ca.pool) // its connection outlives the rotation
			if code, proto, serial, _ := get(t, kept, url); code != 200 || proto != 2 || serial != 1 {
				t.Fatalf("before: %d HTTP/%d serial %d", code, proto, serial)
			}
			ca.writeLeaf(t, dir, 2)
			tt.trigger(g)
			waitFor(t, "the new certificate", func() bool {
				c := h2Client(ca.pool)
				defer c.CloseIdleConnections()
				_, _, serial, _ := get(t, c, url)
				return serial == 2
			})
			if code, proto, serial, _ := get(t, kept, url); code != 200 || proto != 2 || serial != 1 {
				t.Errorf("the connection opened before the rotation: %d HTTP/%d serial %d; want 200 HTTP/2 on serial 1", code, proto, serial)
			}
			want := `"trigger":"` + tt.name + `"`
			if !strings.Contains(g.logs.String(), want) {
				t.Errorf("no reload logged with %s:\n%s", want, g.logs.String())
			}
		})
	}
}

func TestCertificateReloadFailureKeepsOld(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.writeLeaf(t, dir, 7)
	g := serveGateway(t, registry.NewMemoryRegistry(), fmt.Sprintf("server: {admin_tls: {cert_file: %s, key_file: %s}}", certFile, keyFile), nil)
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.hangUp()
	waitFor(t, "the failure log line", func() bool {
		return len(g.logs.lines("TLS certificate reload failed; the previous certificate stays in use")) == 1
	})
	c := h2Client(ca.pool)
	if code, _, serial, _ := get(t, c, "https://"+g.adm+"/healthz"); code != 200 || serial != 7 {
		t.Errorf("after a failed reload: %d serial %d; want 200 on serial 7", code, serial)
	}
}

func TestServeRefusesUnreadableCertificate(t *testing.T) {
	cfg := config.Default()
	cfg.Server.TLS = &config.TLS{CertFile: filepath.Join(t.TempDir(), "missing.crt"), KeyFile: "missing.key"}
	g, err := New(Options{Config: cfg, Registry: registry.NewMemoryRegistry(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := net.Listen("tcp", "127.0.0.1:0")
	err = g.Serve(context.Background(), pub, nil)
	if err == nil || !strings.Contains(err.Error(), "public") || !strings.Contains(err.Error(), "missing.crt") {
		t.Fatalf("Serve: %v; want an error naming the public listener and its file", err)
	}
	if _, err := net.Dial("tcp", pub.Addr().String()); err == nil {
		t.Error("the listener was left open")
	}
}

func TestUpstreamHTTP2(t *testing.T) {
	// protoEcho answers with the protocol the request came in on.
	protoEcho := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"proto_major": r.ProtoMajor, "tls": r.TLS != nil})
	})
	h2c := httptest.NewUnstartedServer(protoEcho)
	h2c.Config.Protocols = new(http.Protocols)
	h2c.Config.Protocols.SetHTTP1(true)
	h2c.Config.Protocols.SetUnencryptedHTTP2(true)
	h2c.Start()
	t.Cleanup(h2c.Close)
	tlsSrv := httptest.NewUnstartedServer(protoEcho)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(protoEcho)
	t.Cleanup(plain.Close)

	reg := registry.NewMemoryRegistry()
	register(t, reg, "up-h2c", "c1", h2c.Listener.Addr().String(), map[string]string{"protocol": "h2"})
	register(t, reg, "up-tls", "t1", tlsSrv.Listener.Addr().String(), map[string]string{"protocol": "https"})
	register(t, reg, "up-plain", "p1", plain.Listener.Addr().String(), map[string]string{"protocol": "http"})
	pool := x509.NewCertPool()
	pool.AddCert(tlsSrv.Certificate())
	tr := proxy.NewTransport()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	g := newGatewayWith(t, reg, `
routes:
  - {name: h2c, path: /h2c, kind: proxy, service: up-h2c, strip_prefix: true}
  - {name: tls, path: /tls, kind: proxy, service: up-tls, strip_prefix: true}
  - {name: plain, path: /plain, kind: proxy, service: up-plain, strip_prefix: true}
`, func(o *Options) { o.HTTPTransport = tr })

	tests := []struct {
		name, path, want string
	}{
		{"protocol h2 is h2c with prior knowledge", "/h2c/x", `{"proto_major":2,"tls":false}`},
		{"protocol https negotiates h2 by ALPN", "/tls/x", `{"proto_major":2,"tls":true}`},
		{"protocol http stays HTTP/1.1", "/plain/x", `{"proto_major":1,"tls":false}`},
		{"the dynamic route proxies an h2 service too", "/up-h2c/x", `{"proto_major":2,"tls":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := do(t, "GET", g.url+tt.path, "")
			if code != 200 || strings.TrimSpace(body) != tt.want {
				t.Errorf("got %d %s; want 200 %s", code, body, tt.want)
			}
		})
	}
}

// TestCurlHTTP2 is the acceptance check with curl itself, when installed:
// curl --http2 over TLS and --http2-prior-knowledge over h2c get HTTP/2 200s.
func TestCurlHTTP2(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	ca := newTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.writeLeaf(t, dir, 3)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := registry.NewMemoryRegistry()
	startHTTP(t, reg, "plain-http", "p1")
	routes := "routes: [{name: plain, path: /plain, kind: proxy, service: plain-http, strip_prefix: true}]\n"
	tlsGW := serveGateway(t, reg, fmt.Sprintf("server: {tls: {cert_file: %s, key_file: %s}}\n", certFile, keyFile)+routes, nil)
	h2cGW := serveGateway(t, reg, "server: {h2c: true}\n"+routes, nil)
	tests := []struct {
		name string
		args []string
	}{
		{"--http2 over TLS", []string{"--http2", "--cacert", caFile, "https://" + tlsGW.pub + "/plain/x"}},
		{"--http2-prior-knowledge over h2c", []string{"--http2-prior-knowledge", "http://" + h2cGW.pub + "/plain/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-sS", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "--max-time", "5"}, tt.args...)
			out, err := exec.Command(curl, args...).CombinedOutput()
			if err != nil || string(out) != "2 200" {
				t.Errorf("curl %s: %q %v; want \"2 200\"", strings.Join(tt.args, " "), out, err)
			}
		})
	}
}
