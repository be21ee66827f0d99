package consultest

import (
	"context"
	"strconv"

	"github.com/hashicorp/consul/api"
)

// DevArgs is for a program that runs the agent itself, as the bench harness
// does under its own process group: the arguments (after the binary bin) of a
// `consul agent -dev` on free 127.0.0.1 ports with DNS off and its data in
// dataDir/data, the same command line Start runs, with extra appended. addr
// is the agent's HTTP API host:port. A port may be taken before the agent
// binds it; the caller retries with new arguments when the agent's log says
// "address already in use".
func DevArgs(bin, dataDir string, extra ...string) (args []string, addr string, err error) {
	ports, err := freePorts()
	if err != nil {
		return nil, "", err
	}
	a := &Agent{bin: bin, Dir: dataDir}
	a.configure(ports, "dev-"+strconv.Itoa(ports.HTTP), append([]string{"-dev"}, extra...)...)
	return a.args, a.Addr, nil
}

// HasLeader reports whether the agent whose HTTP API is at addr knows a
// raft leader.
func HasLeader(addr string) bool { return (&Agent{Addr: addr}).hasLeader() }

// Deregister removes the service instance id from the agent whose HTTP API
// is at addr, as an operator would with `consul services deregister`.
func Deregister(ctx context.Context, addr, id string) error {
	c, err := api.NewClient(&api.Config{Address: addr, HttpClient: client})
	if err != nil {
		return err
	}
	return c.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx))
}
