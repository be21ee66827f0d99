// Command backend is the benchmark's HTTP backend: one process serving a
// small fixed body on each of several loopback addresses, optionally
// registered in Consul (through go-micro's consul registry plugin) as the
// nodes of one HTTP service, so that the gateway can find them.
//
//	backend --addrs 127.0.0.1:9001,127.0.0.1:9002 --registry_address 127.0.0.1:8500
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-micro/plugins/v4/registry/consul"
	"go-micro.dev/v4/registry"
)

// Body is what every backend answers: small and fixed, so that the proxy,
// not the backend, is what the benchmark measures.
const Body = "hello from a microlb bench backend\n"

func main() {
	addrs := flag.String("addrs", "127.0.0.1:0", "comma-separated listen addresses, one backend each")
	regAddr := flag.String("registry_address", "", "Consul HTTP address; empty: do not register")
	service := flag.String("service", "bench-http", "registry service name of the backends")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	fatal := func(msg string, err error) {
		log.Error(msg, "err", err)
		os.Exit(1)
	}

	var nodes []*registry.Node
	for i, a := range strings.Split(*addrs, ",") {
		l, err := net.Listen("tcp", a)
		if err != nil {
			fatal("listening", err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(serve), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
		go func() { fatal("serving", srv.Serve(l)) }()
		nodes = append(nodes, &registry.Node{
			Id:       fmt.Sprintf("%s-%d", *service, l.Addr().(*net.TCPAddr).Port),
			Address:  l.Addr().String(),
			Metadata: map[string]string{"weight": "1", "index": strconv.Itoa(i)},
		})
	}
	var reg registry.Registry
	svc := &registry.Service{Name: *service, Version: "bench", Nodes: nodes}
	if *regAddr != "" {
		reg = consul.NewRegistry(registry.Addrs(*regAddr))
		if err := reg.Register(svc); err != nil {
			fatal("registering "+*service, err)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	if reg != nil {
		for _, n := range nodes {
			reg.Deregister(&registry.Service{Name: *service, Version: "bench", Nodes: []*registry.Node{n}})
		}
	}
}

var body = []byte(Body)

// serve answers every request with Body.
func serve(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain; charset=utf-8"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.Write(body)
}
