package consultest

import (
	"fmt"
	"net"
	"strconv"
)

// Ports are the loopback ports one agent listens on.
type Ports struct {
	HTTP    int // HTTP API
	GRPC    int // gRPC (xDS)
	SerfLAN int // serf LAN gossip, TCP and UDP
	SerfWAN int // serf WAN gossip, TCP and UDP
	Server  int // server RPC (raft)
}

// flags returns the consul agent flags that bind p, with DNS disabled.
func (p Ports) flags() []string {
	return []string{
		"-http-port=" + strconv.Itoa(p.HTTP),
		"-grpc-port=" + strconv.Itoa(p.GRPC),
		"-serf-lan-port=" + strconv.Itoa(p.SerfLAN),
		"-serf-wan-port=" + strconv.Itoa(p.SerfWAN),
		"-server-port=" + strconv.Itoa(p.Server),
		"-dns-port=-1",
	}
}

// freePorts returns a set of distinct ports that were free on 127.0.0.1 for
// both TCP and UDP a moment ago. Another process may still grab one before
// consul binds it; callers retry on a clash.
func freePorts() (Ports, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	next := func() (int, error) {
		for range 20 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return 0, err
			}
			port := l.Addr().(*net.TCPAddr).Port
			// Serf also needs the UDP port; make sure it is free too.
			u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				l.Close()
				continue
			}
			u.Close()
			held = append(held, l) // hold it so the next pick differs
			return port, nil
		}
		return 0, fmt.Errorf("no free TCP+UDP loopback port after 20 tries")
	}
	var p Ports
	for _, dst := range []*int{&p.HTTP, &p.GRPC, &p.SerfLAN, &p.SerfWAN, &p.Server} {
		port, err := next()
		if err != nil {
			return Ports{}, err
		}
		*dst = port
	}
	return p, nil
}
