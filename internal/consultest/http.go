package consultest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

var client = &http.Client{Timeout: 2 * time.Second}

// getJSON decodes the JSON body of GET http://addr+path into v.
func getJSON(addr, path string, v any) error {
	resp, err := client.Get("http://" + addr + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

// leader returns the raft address ("127.0.0.1:port") of the leader the agent
// knows, or "" if it knows none or does not answer.
func (a *Agent) leader() string {
	var l string
	if getJSON(a.Addr, "/v1/status/leader", &l) != nil {
		return ""
	}
	return l
}

func (a *Agent) hasLeader() bool { return a.leader() != "" }

// member is the part of a /v1/agent/members entry this package reads.
type member struct {
	Name   string
	Status int // serf status: 1 alive, 2 leaving, 3 left, 4 failed
}

// aliveMembers returns how many LAN members the agent sees as alive, or -1 if
// it does not answer.
func (a *Agent) aliveMembers() int {
	var ms []member
	if getJSON(a.Addr, "/v1/agent/members", &ms) != nil {
		return -1
	}
	n := 0
	for _, m := range ms {
		if m.Status == 1 {
			n++
		}
	}
	return n
}

// peers returns the number of servers in the raft configuration, or -1.
func (a *Agent) peers() int {
	var ps []string
	if getJSON(a.Addr, "/v1/status/peers", &ps) != nil {
		return -1
	}
	return len(ps)
}
